"""The collector settings of long-running commands (engine/runtime/heap.py).

Run in a child process: the settings are the process's, and this one's must not change."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
before = (gc.get_threshold(), gc.get_freeze_count())
from engine.runtime.heap import tune_for_throughput
import engine.service  # importing does not tune: only the commands call it
imported = (gc.get_threshold(), gc.get_freeze_count())
tune_for_throughput()
print(json.dumps([before, imported, [gc.get_threshold(), gc.get_freeze_count() > 0]]))
"""


def test_tuning_raises_the_young_threshold_freezes_start_up_and_needs_a_call() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    before, imported, after = json.loads(out)
    assert imported == before  # an embedding application keeps its own settings
    assert after == [[10_000, before[0][1], before[0][2]], True]

"""How many requests the API fuzzers sent, for the end of a test run (as the differential
tests' tally: tests/differential/tally.py, whose folder they share).

Each fuzzer counts its requests and the answers >= 500 it saw, one line per test in the tally
folder, and tests/conftest.py prints the totals, so a CI log says how hard the APIs were hit.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from tests.differential.tally import TALLY_VARIABLE

_FILE = "api-fuzz-{pid}.lines"  # not .txt: the differential tally reads those


def record(fuzzer: str, requests: int, server_errors: int) -> None:
    """Count the requests one fuzz test sent, and the answers >= 500 among them."""
    folder = os.environ.get(TALLY_VARIABLE)
    if folder:
        with open(Path(folder) / _FILE.format(pid=os.getpid()), "a") as lines:
            lines.write(f"{fuzzer} {requests} {server_errors}\n")


def summary() -> str | None:
    """The line to print, or None when no API fuzzer ran."""
    folder = os.environ.get(TALLY_VARIABLE)
    if not folder or not Path(folder).is_dir():
        return None
    sent: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for path in Path(folder).glob(_FILE.format(pid="*")):
        for line in path.read_text().splitlines():
            fuzzer, requests, errors = line.split()
            sent[fuzzer] += int(requests)
            failed[fuzzer] += int(errors)
    if not sent:
        return None
    parts = ", ".join(
        f"{fuzzer}: {sent[fuzzer]} requests, {failed[fuzzer]} answers >= 500"
        for fuzzer in sorted(sent)
    )
    return f"api fuzzers: {parts}"

"""bench/api_load.py and bench/api_waiting.py run end to end on small counts: every call
answered, every execution done (or, for the waiting run, waiting and adopted after a restart).

Never asserts speed (the benchmark prints that).
"""

from __future__ import annotations

import pytest

from bench.api_load import api_load_rows, bench_api_load
from bench.api_waiting import WARM_UP, bench_waiting


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_api_load_small_run(store: str) -> None:
    load = bench_api_load(requests=300, connections=4, timeout=60, store=store)
    assert (load.store, load.requests, load.errors, load.succeeded) == (store, 300, 0, 300)
    assert load.per_second > 0
    assert load.server_cpu > 0
    assert 0 < load.p50_ms <= load.p99_ms


@pytest.mark.slow
def test_waiting_run_small() -> None:
    """The waiting run end to end on 400 starts: all answered, waiting, adopted after the
    restart by the fresh server."""
    waiting = bench_waiting(executions=400, connections=4, slice_size=100, timeout=120)
    assert (waiting.executions, waiting.errors, len(waiting.slice_rates)) == (400, 0, 4)
    assert waiting.running == 400 + WARM_UP  # nothing ran past its Wait
    assert waiting.rss_after > 0
    assert waiting.rss_adopted > 0


@pytest.mark.slow
def test_api_load_rows() -> None:
    rows = api_load_rows(requests=100, connections=2, sqlite_connections=3)
    assert [what for what, _ in rows] == [
        "StartExecution over HTTP, memory store (100 calls, 2 keep-alive connections)",
        "  latency p50 / p99; server CPU per start",
        "  executions completed",
        "StartExecution over HTTP, sqlite store (100 calls, 3 keep-alive connections)",
        "  latency p50 / p99; server CPU per start",
        "  executions completed",
    ]
    for completed in (rows[2][1], rows[5][1]):
        assert completed.startswith("100 of 100 SUCCEEDED")
        assert completed.endswith("; 0 errors")

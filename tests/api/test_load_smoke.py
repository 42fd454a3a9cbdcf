"""bench/api_load.py runs end to end on a small count: every call answered, every execution done.

Never asserts speed (the benchmark prints that).
"""

from __future__ import annotations

import pytest

from bench.api_load import api_load_rows, bench_api_load


@pytest.mark.slow
def test_api_load_small_run() -> None:
    load = bench_api_load(requests=300, connections=4, timeout=60)
    assert (load.requests, load.errors, load.succeeded) == (300, 0, 300)
    assert load.per_second > 0
    assert 0 < load.p50_ms <= load.p99_ms


@pytest.mark.slow
def test_api_load_rows() -> None:
    rows = api_load_rows(requests=100, connections=2)
    assert [what for what, _ in rows] == [
        "StartExecution over HTTP (100 calls, 2 keep-alive connections)",
        "  latency p50 / p99",
        "  executions completed",
    ]
    assert rows[2][1].startswith("100 of 100 SUCCEEDED")
    assert rows[2][1].endswith("; 0 errors")

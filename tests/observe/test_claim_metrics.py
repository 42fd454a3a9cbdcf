"""Queue lag and lease takeovers: counted when a worker claims executions another process
recorded (lag) or drove before (takeover)."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore
from tests.service.helpers import ManualClock

T0 = 1_700_000_000.0
BASE = "arn:aws:states:us-east-1:111111111111:stateMachine:"
WAIT = '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}'


def test_a_worker_counts_queue_lag_and_takeovers() -> None:
    store = MemoryStore()
    clock = ManualClock(T0)  # stands still: the Waits outlast the first worker

    async def main() -> dict[str, float]:
        # An API-only process records two executions; 3 seconds later a worker claims them.
        async with Service(store, clock=clock, config=ServiceConfig(worker=False)) as api:
            await api.create_state_machine("waits", WAIT)
            for name in ("a", "b"):
                await api.start_execution(BASE + "waits", name=name)
        clock.advance_to(T0 + 3)
        first = Service(store, clock=clock, config=ServiceConfig(lease_seconds=30))
        first_metrics = first.enable_metrics()
        await first.worker.tick()  # claims and starts both: each waits 60 s now
        await asyncio.sleep(0.05)
        await first.aclose()  # releases both leases: the next worker takes them over
        second = Service(store, clock=clock)
        second_metrics = second.enable_metrics()
        async with second:
            await second.worker.tick()
            await asyncio.sleep(0.05)
        out = {}
        for name, metrics in (("first", first_metrics), ("second", second_metrics)):
            text = metrics.exposition()[0].decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if not sample.labels:
                        out[f"{name}:{sample.name}"] = sample.value
        return out

    got = asyncio.run(main())
    assert got["first:asl_queue_lag_seconds_count"] == 2
    assert got["first:asl_queue_lag_seconds_sum"] == 6.0  # 3 s each
    assert got["first:asl_lease_takeovers_total"] == 0
    assert got["second:asl_queue_lag_seconds_count"] == 0
    assert got["second:asl_lease_takeovers_total"] == 2

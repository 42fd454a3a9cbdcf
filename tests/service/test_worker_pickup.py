"""Executions recorded by one process and driven by another worker (`asl start --detach`, then
`asl worker`): when their history says they started, and when a worker may call itself idle.

Regression tests for issue 12: the ExecutionStarted timestamp was when a worker picked the
execution up, not its startDate; `asl worker --until-idle` could exit while executions were
still RUNNING, because the round confirming idleness claimed a batch and did not count it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from engine.runtime.clock import VirtualClock
from engine.runtime.loop import MAX_COMMITS_PER_BATCH
from engine.service import Service, ServiceConfig
from engine.store.base import Commit
from engine.store.memory import MemoryStore
from tests.service.conftest import make_store  # noqa: F401  (fixture)
from tests.service.helpers import BOUND_SECONDS, T0, StoreFactory, pass_machine, text

WAIT_THEN_PASS = text(
    {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": 30, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
)


async def record_executions(store: MemoryStore | object, definition: str, count: int) -> list[str]:
    """Start `count` executions with an API-only service (nothing drives them) at T0."""
    async with Service(
        store,  # type: ignore[arg-type]
        clock=VirtualClock(T0),
        config=ServiceConfig(worker=False),
    ) as recorder:
        machine, _ = await recorder.create_state_machine("m", definition)
        started = [
            await recorder.start_execution(machine.arn, input_text="{}") for _ in range(count)
        ]
    return [record.arn for record in started]


def test_execution_started_is_recorded_at_the_start_date_not_at_pickup() -> None:
    store = MemoryStore()

    async def main() -> None:
        [arn] = await record_executions(store, WAIT_THEN_PASS, 1)
        later = T0 + 100.0  # the worker comes along 100 s after the start was recorded
        async with Service(store, clock=VirtualClock(later)) as worker:
            closed = await asyncio.wait_for(worker.wait_for(arn), BOUND_SECONDS)
            history = await worker.get_history(arn)
        assert closed.status == "SUCCEEDED"
        assert closed.start == T0
        assert [(e.type, e.timestamp) for e in history] == [
            ("ExecutionStarted", T0),
            ("WaitStateEntered", later),
            ("WaitStateExited", later + 30),
            ("PassStateEntered", later + 30),
            ("PassStateExited", later + 30),
            ("ExecutionSucceeded", later + 30),
        ]

    asyncio.run(main())


def test_a_worker_behind_the_recorded_start_moves_its_virtual_clock_up() -> None:
    store = MemoryStore()

    async def main() -> None:
        [arn] = await record_executions(store, pass_machine(), 1)
        async with Service(store, clock=VirtualClock(T0 - 50.0)) as worker:
            await asyncio.wait_for(worker.wait_for(arn), BOUND_SECONDS)
            history = await worker.get_history(arn)
        stamps = [e.timestamp for e in history]
        assert stamps == [T0] * len(stamps)  # never before the start, never decreasing

    asyncio.run(main())


@pytest.mark.parametrize("poll_seconds", [0.01, 60.0], ids=["polling", "poll-a-minute-away"])
def test_until_idle_drives_every_execution_when_there_are_more_than_one_claim_batch(
    make_store: StoreFactory,  # noqa: F811
    poll_seconds: float,
) -> None:
    """23 executions in claim batches of 4 (the last one not full). With the poll a minute
    away they are still drained within the bound: a full batch asks for the next one at once,
    and the worker wakes when the runtime has finished what it claimed."""
    store = make_store()

    async def main() -> list[str]:
        arns = await record_executions(store, pass_machine({"done": True}), 23)
        service = Service(
            store,
            clock=VirtualClock(T0),
            config=ServiceConfig(claim_batch=4, poll_seconds=poll_seconds),
        )
        try:
            await asyncio.wait_for(service.worker.run_until_idle(), BOUND_SECONDS * 4)
            return [(await service.describe_execution(arn)).status for arn in arns]
        finally:
            await service.aclose()

    assert asyncio.run(main()) == ["SUCCEEDED"] * 23


def test_until_idle_waits_for_timers_then_returns() -> None:
    store = MemoryStore()

    async def main() -> str:
        [arn] = await record_executions(store, WAIT_THEN_PASS, 1)
        service = Service(store, clock=VirtualClock(T0), config=ServiceConfig(poll_seconds=0.01))
        try:
            await asyncio.wait_for(service.worker.run_until_idle(), BOUND_SECONDS)
            return (await service.describe_execution(arn)).status
        finally:
            await service.aclose()

    assert asyncio.run(main()) == "SUCCEEDED"


class BatchSizes(MemoryStore):
    """The memory store, remembering how many commits each group commit carried."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def commit(self, commits: Sequence[Commit]) -> None:
        self.batches.append(len(commits))
        super().commit(commits)


def test_a_burst_of_steps_is_written_in_transactions_of_at_most_the_cap() -> None:
    store = BatchSizes()
    count = MAX_COMMITS_PER_BATCH + 500

    async def main() -> list[str]:
        arns = await record_executions(store, pass_machine({"done": True}), count)
        service = Service(store, clock=VirtualClock(T0), config=ServiceConfig(claim_batch=count))
        try:
            await asyncio.wait_for(service.worker.run_until_idle(), BOUND_SECONDS * 4)
            return [(await service.describe_execution(arn)).status for arn in arns]
        finally:
            await service.aclose()

    assert asyncio.run(main()) == ["SUCCEEDED"] * count
    assert max(store.batches) == MAX_COMMITS_PER_BATCH  # one step each: the burst was split
    assert sum(store.batches) == count

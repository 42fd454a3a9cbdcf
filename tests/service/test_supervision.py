"""Supervised loops: a store that stops answering never silently kills the worker loop.

Issue 13: a `StoreError` from claim or renew escaped `Worker._loop`; the API kept answering and
accepting starts that then stayed RUNNING until a restart, and nothing was logged. Now the loop
backs off and retries, logs once when it starts failing and once when it recovers, health says
degraded meanwhile, and StartExecution is refused with a retryable error instead of accepting
work nothing would drive. The faults are injected by a wrapper around a real store (memory or
an SQLite file); waits are bounded.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import pytest

from engine.errors import STATES_RUNTIME
from engine.runtime.clock import VirtualClock
from engine.runtime.worker import CRASH_CAUSE, CRASH_LIMIT
from engine.service import Service, ServiceConfig
from engine.service.base import Health
from engine.store.base import Store, StoreError
from engine.store.memory import MemoryStore
from tests.service.helpers import (
    DOWN,
    T0,
    WAIT_HOUR,
    ManualClock,
    StoreFactory,
    Unreachable,
    execution_arn,
    finish,
    pass_machine,
    run,
    truth,
    types,
    until,
)


def test_the_worker_loop_survives_an_unreachable_store(
    every_store: StoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    real = every_store()
    store = Unreachable(real)
    arn = execution_arn("m", "recorded-while-down")

    async def main(service: Service) -> None:
        service.worker.supervisor.first = 0.001  # fast back-off: the test waits on states
        machine, _ = await service.create_state_machine("m", pass_machine({"ok": True}))
        store.down = True
        service.worker.poke()
        await until(lambda: truth(service.worker.failure is not None))
        # another process (API only) records an execution meanwhile: nothing drives it yet
        async with Service(real, config=ServiceConfig(worker=False)) as api_only:
            await api_only.start_execution(machine.arn, name="recorded-while-down")
        await until(lambda: truth(store.refused >= 3))  # it keeps trying, with back-off
        assert service.worker.running
        store.down = False
        service.worker.poke()
        done = await finish(service, arn)
        assert (done.status, done.output) == ("SUCCEEDED", {"ok": True})
        assert service.worker.failure is None

    with caplog.at_level(logging.WARNING, logger="asl.worker"):
        run(main, store=cast(Store, store))
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "asl.worker"]
    assert lines == [
        (
            "ERROR",
            f"the worker loop is failing: {DOWN}; it keeps retrying (back-off up to 5 s)",
        ),
        (
            "WARNING",
            f"the worker loop recovered after {store.refused} failed attempts (last: {DOWN})",
        ),
    ]


def test_health_is_degraded_and_starts_are_refused_while_the_worker_loop_fails() -> None:
    real = MemoryStore()
    store = Unreachable(real)

    async def main(service: Service) -> None:
        service.worker.supervisor.first = 0.001
        machine, _ = await service.create_state_machine("m", pass_machine({"ok": True}))
        assert await service.health() == Health("ok", "running")
        store.down = True
        service.worker.poke()
        await until(lambda: truth(service.worker.failure is not None))
        health = await service.health()
        assert health == Health("unreachable", "failing", DOWN)
        assert (health.degraded, health.ready) == (True, False)
        with pytest.raises(StoreError) as refused:
            await service.start_execution(machine.arn, name="refused")
        assert refused.value.code == "ServiceUnavailable"
        assert refused.value.message == (
            f"The service is unavailable, retry later (its worker loop is failing: {DOWN})"
        )
        # refused before writing: the name is free once the store answers again
        assert await service.journal.call(real.get_execution, execution_arn("m", "refused")) is None
        store.down = False
        service.worker.poke()
        await until(lambda: truth(service.worker.failure is None))
        assert await service.health() == Health("ok", "running")
        started = await service.start_execution(machine.arn, name="refused")
        assert (await finish(service, started.arn)).status == "SUCCEEDED"

    run(main, store=cast(Store, store))


POISON_CAUSE = (
    "An internal error occurred in asl-engine while applying a Start event: EngineCrashed: "
    f"the engine was lost {CRASH_LIMIT} times in a row while running this execution (its "
    "worker process died or its runtime dropped it), so it is not run again. This is a bug in "
    "the engine, not in the state machine; please report it with the definition and the input."
)


@pytest.mark.parametrize(
    ("lost", "outcome"),
    [
        (CRASH_LIMIT - 1, ("SUCCEEDED", None, None)),
        (CRASH_LIMIT, ("FAILED", STATES_RUNTIME, POISON_CAUSE)),
        # the close through the runtime did not stick either: written directly, with its event
        (CRASH_LIMIT + 1, ("FAILED", STATES_RUNTIME, CRASH_CAUSE)),
    ],
    ids=["one-short-of-the-limit-runs", "at-the-limit-fails", "past-it-closed-directly"],
)
def test_an_execution_whose_drives_were_lost_crash_limit_times_is_failed_not_claimed_again(
    every_store: StoreFactory, lost: int, outcome: tuple[str, str | None, str | None]
) -> None:
    """Issue 13: a poison execution (it kills the worker driving it) was claimed again every
    lease, for ever. Workers that claimed it and died before committing anything are
    simulated by claims nobody follows up; the next worker fails it instead of running it."""
    store = every_store()
    arn = execution_arn("m", "poison")

    async def record() -> None:
        config = ServiceConfig(worker=False)
        async with Service(store, config=config, clock=VirtualClock(T0)) as api_only:
            machine, _ = await api_only.create_state_machine("m", pass_machine({"ok": True}))
            await api_only.start_execution(machine.arn, name="poison")

    asyncio.run(record())
    for attempt in range(lost):  # each lost worker's lease expires before the next claim
        (claimed,) = store.claim(f"lost-{attempt}", "elsewhere", 1, T0 + 100 * attempt, 30, 10)
        assert claimed.claims == attempt + 1

    async def main(service: Service) -> None:
        done = await finish(service, arn)
        assert (done.status, done.error, done.cause) == outcome
        history = types(await service.get_history(arn))
        assert history[0] == "ExecutionStarted"
        assert history[-1] == (
            "ExecutionFailed" if done.status == "FAILED" else "ExecutionSucceeded"
        )
        if done.status == "FAILED":
            assert history == ["ExecutionStarted", "ExecutionFailed"]
        if done.cause == POISON_CAUSE:  # closed by the runtime, from its state: redrivable
            # a redrive runs it again (the failure was progress: its count starts over)
            await service.redrive_execution(arn)
            redriven = await finish(service, arn)
            assert (redriven.status, redriven.output) == ("SUCCEEDED", {"ok": True})

    run(main, store=store, clock=VirtualClock(T0 + 1000))


def test_an_execution_parked_in_a_long_wait_survives_lost_workers(
    every_store: StoreFactory,
) -> None:
    """Workers killed while an execution waits (a Wait of an hour, deploys by kill -9) lose
    drives that had nothing to do: that is no sign of a poison execution, so it is not
    failed, and it ends when its Wait does."""
    store = every_store()
    arn = execution_arn("m", "napping")
    clock = ManualClock(T0)

    async def park(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", WAIT_HOUR)
        await service.start_execution(machine.arn, name="napping")
        await until(lambda: truth(len(store.timers_for(arn)) == 1))

    run(park, store=store, clock=clock)
    for attempt in range(CRASH_LIMIT + 1):  # more lost drives than the limit, all while waiting
        (claimed,) = store.claim(f"lost-{attempt}", "elsewhere", 1, T0 + 100 * attempt, 30, 10)
        assert claimed.claims == attempt + 1

    async def resume(service: Service) -> None:  # a virtual clock: it jumps to the Wait's end
        done = await finish(service, arn)
        assert (done.status, done.error) == ("SUCCEEDED", None)
        assert types(await service.get_history(arn)) == [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded",
        ]

    run(resume, store=store, clock=VirtualClock(T0 + 1000))


def test_a_stop_reaches_an_execution_whose_workers_were_lost_while_it_waited(
    every_store: StoreFactory,
) -> None:
    """make test (Hypothesis, tests/crash/test_stateful.py): an execution parked on a
    callback lost more workers than CRASH_LIMIT, then was stopped; the next worker failed it
    as a poison execution (a pending event meant 'not parked') instead of aborting it. A stop
    runs nothing, so it does not count against it; and a worker that adopts a parked execution
    starts its claims count over, so an event arriving later is applied, not refused."""
    store = every_store()
    arn = execution_arn("m", "stopped")

    async def park(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", WAIT_HOUR)
        await service.start_execution(machine.arn, name="stopped")
        await until(lambda: truth(len(store.timers_for(arn)) == 1))

    run(park, store=store, clock=ManualClock(T0))
    for attempt in range(CRASH_LIMIT + 1):  # all within the Wait's hour: it stays parked
        (claimed,) = store.claim(f"lost-{attempt}", "elsewhere", 1, T0 + 10 + 40 * attempt, 30, 10)
        assert claimed.claims == attempt + 1

    async def adopt_and_lose(service: Service) -> None:  # adopted while parked: forgiven
        await until(lambda: truth(arn in service.runtime.executions))
        service.worker.held.clear()  # then this worker is lost too (its lease lapses)

    run(adopt_and_lose, store=store, clock=ManualClock(T0 + 200))
    record = store.get_execution(arn)
    assert record is not None
    assert (record.status, record.claims) == ("RUNNING", 0)
    for attempt in range(CRASH_LIMIT + 1):  # lost again, past the limit
        now = T0 + 300 + 40 * attempt
        (claimed,) = store.claim(f"again-{attempt}", "elsewhere", 1, now, 30, 10)
    assert claimed.claims == CRASH_LIMIT + 1
    store.post_event(arn, {"kind": "stop", "error": "Halt", "cause": "by hand", "now": T0 + 500})

    async def resume(service: Service) -> None:
        done = await finish(service, arn)
        assert (done.status, done.error, done.cause) == ("ABORTED", "Halt", "by hand")

    run(resume, store=store, clock=ManualClock(T0 + 600))


class PurgeFailsOnce(MemoryStore):
    """A memory store whose first purge fails with an error that is not the engine's."""

    def __init__(self) -> None:
        super().__init__()
        self.purges = 0

    def purge(self, closed_before: float) -> int:
        self.purges += 1
        if self.purges == 1:
            raise OSError("disk I/O error")
        return super().purge(closed_before)


def test_the_retention_job_survives_a_failed_purge(caplog: pytest.LogCaptureFixture) -> None:
    """It caught engine errors only: anything else ended it for the life of the process."""
    store = PurgeFailsOnce()

    async def main(service: Service) -> None:
        await until(lambda: truth(store.purges == 2))
        assert service.retention.failure is None

    with caplog.at_level(logging.WARNING, logger="asl.service"):
        run(main, store=store)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "ERROR",
            "the retention job is failing: OSError: disk I/O error; it keeps retrying "
            "(back-off up to 5 s)",
        ),
        (
            "WARNING",
            "the retention job recovered after 1 failed attempts (last: OSError: disk I/O error)",
        ),
    ]

"""A commit the store refuses, and starts that a claim must not take twice.

Group commit writes many executions' steps in one transaction; one execution whose step the
store refuses must not hold back the others, and must not be driven on from a state the store
never saw. Starts made while the worker loop runs are leased to it in the same insert, so the
worker's own claim can never start them a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from engine.runtime.clock import VirtualClock
from engine.service import Service, ServiceConfig
from engine.store.base import DEFAULT_LEASE_SECONDS, Commit, StoreError
from engine.store.memory import MemoryStore
from tests.service.helpers import (
    T0,
    ManualClock,
    Tokens,
    callback_machine,
    execution_arn,
    finish,
    pass_machine,
    run,
    types,
    until,
)


class Refusing(MemoryStore):
    """A memory store that refuses every batch holding a commit of a refused execution."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[str] = set()
        self.refusals = 0

    def commit(self, commits: Sequence[Commit]) -> None:
        if any(c.execution_arn in self.refused for c in commits):
            self.refusals += 1
            raise StoreError("disk full (refused by the test)")
        super().commit(commits)


def test_a_refused_commit_holds_back_only_its_own_execution() -> None:
    store = Refusing()
    bad, good = execution_arn("m", "bad"), execution_arn("m", "good")
    store.refused.add(bad)

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", pass_machine({"ok": True}))
        await asyncio.gather(
            service.start_execution(machine.arn, name="bad"),
            service.start_execution(machine.arn, name="good"),
        )
        assert (await finish(service, good)).output == {"ok": True}
        assert types(await service.get_history(good))[-1] == "ExecutionSucceeded"
        # nothing of the refused execution was written or carried out: the store still holds
        # it as started, and this process no longer drives it
        assert store.refusals >= 1
        assert await service.get_history(bad) == []
        assert (await service.describe_execution(bad)).status == "RUNNING"
        assert bad not in service.runtime.executions
        # the store recovers; once the lease lapses, a claim resumes it from its last commit
        store.refused.clear()
        service.clock.advance_to(T0 + DEFAULT_LEASE_SECONDS + 1)
        service.worker.poke()
        resumed = await finish(service, bad)
        assert (resumed.status, resumed.output) == ("SUCCEEDED", {"ok": True})
        assert types(await service.get_history(bad)).count("ExecutionStarted") == 1

    run(main, store=store)


def test_a_callback_whose_step_was_refused_is_delivered_again_on_takeover() -> None:
    store = Refusing()
    tokens = Tokens()
    arn = execution_arn("m", "cb")

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", callback_machine())
        await service.start_execution(machine.arn, name="cb")
        token = await tokens.next()
        store.refused.add(arn)
        await service.send_task_success(token, '{"answer": 42}')

        # the step applying the callback could not be committed: dropped from this process
        async def dropped() -> bool:
            return arn not in service.runtime.executions

        await until(dropped)
        store.refused.clear()
        service.clock.advance_to(T0 + DEFAULT_LEASE_SECONDS + 1)
        service.worker.poke()
        # taken over from the last commit, the callback still in its inbox is applied
        assert (await finish(service, arn)).status == "SUCCEEDED"
        assert types(await service.get_history(arn)).count("TaskSucceeded") == 1

    run(main, store=store, functions={"remember": tokens.remember})


def test_the_lease_of_a_dropped_execution_is_not_renewed() -> None:
    """The worker renewed the leases of every execution it had held, also one the runtime had
    just dropped (its commit refused): the lease never lapsed while the worker lived, and the
    execution stayed RUNNING (a flaky test found it, under load)."""
    store = Refusing()
    arn = execution_arn("m", "dropped")
    store.refused.add(arn)
    clock = ManualClock(T0)

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", pass_machine())
        await service.start_execution(machine.arn, name="dropped")

        async def dropped() -> bool:
            return arn not in service.runtime.executions

        await until(dropped)
        [before] = store.leases_on_host(service.worker.host)
        clock.advance_to(T0 + 20)  # past the renewal interval (lease 30 s / 3), inside the lease
        await service.worker.renew_leases()
        assert store.leases_on_host(service.worker.host) == [before]

    run(main, store=store, clock=clock, config=ServiceConfig(poll_seconds=0.01))


def test_a_start_while_the_worker_runs_is_leased_to_it_in_the_same_insert() -> None:
    store = MemoryStore()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", pass_machine())
        started = await service.start_execution(machine.arn, name="n")
        leases = store.leases_on_host(service.worker.host)
        assert [(x.execution_arn, x.worker_id) for x in leases] == [
            (started.arn, service.worker.worker_id)
        ]
        # the claim that follows finds nothing free: the execution starts once
        assert store.claim("other", "elsewhere", 1, T0, 30, 10) == []
        await finish(service, started.arn)
        assert types(await service.get_history(started.arn)).count("ExecutionStarted") == 1

    run(main, store=store)


def test_without_the_worker_loop_a_start_is_left_to_a_claim() -> None:
    store = MemoryStore()

    async def main() -> list[str]:
        service = Service(store, clock=VirtualClock(T0), config=ServiceConfig(poll_seconds=0.01))
        try:
            machine, _ = await service.create_state_machine("m", pass_machine())
            started = await service.start_execution(machine.arn, name="n")
            assert store.leases_on_host(service.worker.host) == []
            await service.worker.run_until_idle()
            return types(await service.get_history(started.arn))
        finally:
            await service.aclose()

    assert asyncio.run(main()) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]

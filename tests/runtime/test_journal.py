"""The journal's store thread: calls run in the order asked; a batch of starts and the step
commits queued next to it share one transaction on a SQL store, and each caller still gets
its own outcome when that transaction fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from engine.runtime.journal import Journal
from engine.store.base import Commit, ExecutionRecord, Lease, StoreError
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from engine.store.sql import SqlStore

MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:m"


def record(name: str) -> ExecutionRecord:
    return ExecutionRecord(
        arn=f"arn:aws:states:us-east-1:111111111111:execution:m:{name}",
        machine_arn=MACHINE,
        revision_id="r",
        name=name,
        machine_type="STANDARD",
        input={"name": name},
        status="RUNNING",
        start=1.0,
    )


class CountingStore(SqlStore):
    """A SQLite store that counts its transactions of each kind."""

    def __init__(self, path: Path) -> None:
        opened = open_store(f"sqlite:///{path}")
        assert isinstance(opened, SqlStore)
        super().__init__(opened.engine)
        self.calls: list[str] = []

    def create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None = None
    ) -> list[tuple[ExecutionRecord, bool]]:
        self.calls.append("create_executions")
        return super().create_executions(records, lease)

    def commit(self, commits: Sequence[Commit]) -> None:
        self.calls.append("commit")
        super().commit(commits)

    def create_and_commit(
        self, records: Sequence[ExecutionRecord], lease: Lease | None, commits: Sequence[Commit]
    ) -> list[tuple[ExecutionRecord, bool]]:
        self.calls.append("create_and_commit")
        return super().create_and_commit(records, lease, commits)


async def queued_behind_a_busy_thread(
    journal: Journal, *jobs: Coroutine[object, object, object]
) -> list[object]:
    """Start `jobs` (coroutines) while the store thread is busy, so they queue next to each
    other; then let the thread go. Returns their outcomes (results or exceptions)."""
    busy, go = threading.Event(), threading.Event()

    def hold() -> None:
        busy.set()
        go.wait(10)

    held = asyncio.ensure_future(journal.call(hold))
    await asyncio.to_thread(busy.wait, 10)
    tasks = [asyncio.ensure_future(job) for job in jobs]
    for _ in range(3):
        await asyncio.sleep(0)  # each job reaches the queue, in order
    go.set()
    await held
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_starts_and_the_steps_next_to_them_share_one_transaction(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = CountingStore(tmp_path / "a.db")
        journal = Journal(store)
        try:
            lease = Lease("", "w", "h", 1, 99.0)
            [(old, created)] = await journal.create_executions([record("old")], lease)
            assert created
            step = Commit(execution_arn=old.arn, state={"step": 1})
            store.calls.clear()
            outcomes = await queued_behind_a_busy_thread(
                journal,
                journal.write([step]),
                journal.create_executions([record("a"), record("old")], lease),
                journal.call(store.get_execution, old.arn),
            )
            assert outcomes[:2] == [None, [(record("a"), True), (old, False)]]
            assert outcomes[2] == replace(old, state={"step": 1})
            assert store.calls == ["create_and_commit"]  # the read after them ran on its own
            assert [x.execution_arn for x in store.leases_on_host("h")] == [
                record("a").arn,
                old.arn,
            ]
        finally:
            journal.close()
            store.close()

    asyncio.run(scenario())


def test_a_failed_shared_transaction_gives_each_caller_its_own_outcome(tmp_path: Path) -> None:
    """A commit of an execution that does not exist fails its own write only: the starts it
    shared a transaction with are recorded by running them again alone."""

    async def scenario() -> None:
        store = CountingStore(tmp_path / "a.db")
        journal = Journal(store)
        try:
            ghost = Commit(execution_arn=record("ghost").arn, state={"step": 1})
            outcomes = await queued_behind_a_busy_thread(
                journal,
                journal.create_executions([record("a")], None),
                journal.write([ghost]),
            )
            assert outcomes[0] == [(record("a"), True)]
            assert isinstance(outcomes[1], StoreError)
            assert store.calls == ["create_and_commit", "create_executions", "commit"]
            assert store.get_execution(record("a").arn) == record("a")
            assert store.get_execution(record("ghost").arn) is None
        finally:
            journal.close()
            store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("kinds", [("write", "write"), ("create", "create")])
def test_only_one_batch_of_starts_per_transaction_and_no_commits_alone(
    tmp_path: Path, kinds: tuple[str, str]
) -> None:
    """Two batches of starts are never one transaction (each keeps its own ARN order), and
    commit batches with no start next to them are written one by one as before."""

    async def scenario() -> None:
        store = CountingStore(tmp_path / "a.db")
        journal = Journal(store)
        try:
            [(a, _)] = await journal.create_executions([record("a")], None)
            store.calls.clear()
            jobs = [
                journal.write([Commit(execution_arn=a.arn, state={"n": n})])
                if kind == "write"
                else journal.create_executions([record(f"n{n}")], None)
                for n, kind in enumerate(kinds)
            ]
            await queued_behind_a_busy_thread(journal, *jobs)
            single = "commit" if kinds[0] == "write" else "create_executions"
            assert store.calls == [single, single]
        finally:
            journal.close()
            store.close()

    asyncio.run(scenario())


def test_a_memory_store_runs_every_call_alone() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        journal = Journal(store)
        try:
            outcomes = await queued_behind_a_busy_thread(
                journal,
                journal.create_executions([record("a")], None),
                journal.write([Commit(execution_arn=record("a").arn, state={"n": 1})]),
            )
            assert outcomes == [[(record("a"), True)], None]
            stored = store.get_execution(record("a").arn)
            assert stored is not None
            assert stored.state == {"n": 1}
        finally:
            journal.close()

    asyncio.run(scenario())

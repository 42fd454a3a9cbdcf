"""Same-name starts from several servers on one PostgreSQL never deadlock (issue 13).

Two (and three) services, each with its own connection pool and store thread, start the same 40
names at once, in different orders, round after round. Before the fix each server's batch
inserted in arrival order, so two batches locked the same unique keys in opposite orders and
PostgreSQL killed one ("deadlock detected": ~19 of 40 starts answered 503), and one failed
statement failed every start of its batch. Now: every start answers, AWS's rule holds (same
name and input while RUNNING: the same execution), and each name has exactly one execution.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.errors import EngineError
from engine.service import Service, ServiceConfig
from engine.store.base import ExecutionRecord, Lease, StoreError, StoreRefused
from engine.store.batch import CommitPlan
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from engine.store.sql import SqlStore
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

WAIT = json.dumps(
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}}}
)
NAMES = 40
ROUNDS = 8


@pytest.fixture(scope="module")
def schema_url() -> Iterator[str]:
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        open_store(scoped).close()  # migrate once
        yield scoped


@pytest.mark.parametrize("servers", [2, 3])
@pytest.mark.parametrize("backend", [POSTGRES_PARAM])
def test_same_names_from_several_servers(
    backend: str, servers: int, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("schema_url")
    asyncio.run(_race(url, servers))


async def _race(url: str, servers: int) -> None:
    stores = [open_store(url) for _ in range(servers)]
    for store in stores:
        assert isinstance(store, SqlStore)
    with stores[0].engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("TRUNCATE executions, leases, machines CASCADE"))
    services = [Service(store, config=ServiceConfig(seed=i)) for i, store in enumerate(stores)]
    errors: list[str] = []
    try:
        for service in services:
            service.start()
        machine, _ = await services[0].create_state_machine("race", WAIT)
        for service in services[1:]:
            await service.create_state_machine("race", WAIT)

        async def start(service: Service, name: str) -> str | None:
            try:
                record = await service.start_execution(
                    machine.arn, name=name, input_text='{"n": 1}'
                )
            except EngineError as exc:
                errors.append(f"{exc.code}: {exc.message}")
                return None
            return record.arn

        for round_ in range(ROUNDS):
            names = [f"r{round_}-n{i}" for i in range(NAMES)]
            calls = []
            for index, service in enumerate(services):
                # each server sees the names in its own order
                order = names if index % 2 == 0 else names[::-1]
                shift = index * 7 % NAMES
                order = order[shift:] + order[:shift]
                calls.extend(start(service, name) for name in order)
            arns = await asyncio.gather(*calls)
            assert errors == [], errors[:5]
            assert len(set(arns)) == NAMES  # each name: one execution, every caller gets it
        executions, _ = await services[0].list_executions(machine.arn, limit=1000)
        assert len(executions) == NAMES * ROUNDS
        assert len({e.name for e in executions}) == NAMES * ROUNDS
    finally:
        for service in services:
            await service.aclose()
        for store in stores:
            store.close()


class RefusingStore(MemoryStore):
    """A memory store that refuses any batch holding the execution named `poison`, as
    PostgreSQL refuses a value it cannot hold: the whole transaction fails."""

    def create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None = None
    ) -> list[tuple[ExecutionRecord, bool]]:
        if any(record.name == "poison" for record in records):
            raise StoreRefused("the store refused a value: test")
        return super().create_executions(records, lease)


def test_one_refused_start_fails_only_its_caller() -> None:
    """The batch of concurrent starts shares one transaction; the store refusing one of them
    failed every start of the batch (all 503)."""

    async def scenario() -> None:
        async with Service(RefusingStore(), config=ServiceConfig(worker=False)) as service:
            machine, _ = await service.create_state_machine("m", WAIT)
            names = [f"n{i}" for i in range(10)]
            names.insert(5, "poison")
            outcomes = await asyncio.gather(
                *(service.start_execution(machine.arn, name=name) for name in names),
                return_exceptions=True,
            )
            failed = {
                name
                for name, out in zip(names, outcomes, strict=True)
                if isinstance(out, BaseException)
            }
            assert failed == {"poison"}
            assert isinstance(outcomes[5], StoreRefused)

    asyncio.run(scenario())


class Deadlock(Exception):
    """What psycopg raises for SQLSTATE 40P01, as SQLAlchemy wraps it (`orig.sqlstate`)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("deadlock detected")
        self.orig = self
        self.sqlstate = sqlstate


class AbortingStore(SqlStore):
    """A SQLite store whose first `aborts` start transactions end as PostgreSQL aborts them."""

    def __init__(self, url: str, aborts: int, sqlstate: str = "40P01") -> None:
        opened = open_store(url)
        assert isinstance(opened, SqlStore)
        super().__init__(opened.engine)
        self.aborts = aborts
        self.sqlstate = sqlstate
        self.tries = 0

    def _create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None, plan: CommitPlan | None
    ) -> list[tuple[ExecutionRecord, bool]]:
        self.tries += 1
        if self.tries <= self.aborts:
            raise StoreError("the store is unavailable: deadlock detected") from Deadlock(
                self.sqlstate
            )
        return super()._create_executions(records, lease, plan)


def _record(name: str) -> ExecutionRecord:
    return ExecutionRecord(
        arn=f"arn:aws:states:us-east-1:111111111111:execution:m:{name}",
        machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:m",
        revision_id="r",
        name=name,
        machine_type="STANDARD",
        input={},
        status="RUNNING",
        start=1.0,
    )


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_an_aborted_start_transaction_is_retried(tmp_path: Path, sqlstate: str) -> None:
    store = AbortingStore(f"sqlite:///{tmp_path / 'a.db'}", aborts=3, sqlstate=sqlstate)
    try:
        [(stored, created)] = store.create_executions([_record("n")])
        assert (stored.name, created, store.tries) == ("n", True, 4)
    finally:
        store.close()


def test_retries_are_bounded(tmp_path: Path) -> None:
    store = AbortingStore(f"sqlite:///{tmp_path / 'a.db'}", aborts=100)
    try:
        with pytest.raises(StoreError, match="deadlock detected"):
            store.create_executions([_record("n")])
        assert store.tries == 6  # the first try and 5 retries
    finally:
        store.close()


def test_other_store_errors_are_not_retried(tmp_path: Path) -> None:
    store = AbortingStore(f"sqlite:///{tmp_path / 'a.db'}", aborts=100, sqlstate="08006")
    try:
        with pytest.raises(StoreError):
            store.create_executions([_record("n")])
        assert store.tries == 1
    finally:
        store.close()

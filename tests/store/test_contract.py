"""The `Store` contract, asserted identically on every implementation.

Memory, SQLite (a fresh file per test) and PostgreSQL (a schema per test session, emptied
before each test; skipped with the reason when ASL_TEST_POSTGRES_URL is unset). Concurrency
tests race real threads on one store (each SQL call takes its own pooled connection), so they
exercise SQLite's BEGIN IMMEDIATE and PostgreSQL's FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from threading import Barrier

import pytest
from sqlalchemy import text

from engine.errors import InvalidRequest
from engine.store.base import (
    ActivityRecord,
    ActivityTask,
    AliasRecord,
    ChildStop,
    Commit,
    ExecutionRecord,
    Lease,
    MachineRecord,
    MapRunItems,
    MapRunRecord,
    ParentCallback,
    Store,
    StoredEvent,
    StoreError,
    TimerRecord,
    TokenRecord,
    VersionRecord,
)
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from engine.store.schema import metadata
from engine.store.sql import SqlStore
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:order"
OTHER_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:other"
ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:approve"
T0 = 1_700_000_000.125

STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    POSTGRES_PARAM,
]


@pytest.fixture(scope="session")
def postgres_store_url() -> Iterator[str]:
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        open_store(scoped).close()  # migrate once per session
        yield scoped


@pytest.fixture(params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'asl.db'}")
    else:
        opened = open_store(request.getfixturevalue("postgres_store_url"))
        assert isinstance(opened, SqlStore)
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with opened.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield opened
    opened.close()


# -- builders --
def machine(name: str = "order", revision: str = "r1", **changes: object) -> MachineRecord:
    fields: dict[str, object] = {
        "arn": f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}",
        "name": name,
        "machine_type": "STANDARD",
        "definition": f'{{"Comment":"{revision}","StartAt":"A","States":{{}}}}',
        "revision_id": revision,
        "role_arn": "arn:aws:iam::123456789012:role/r",
        "created": T0,
        "updated": T0,
    }
    fields.update(changes)
    return MachineRecord(**fields)  # type: ignore[arg-type]


def arn_of(name: str, machine_arn: str = MACHINE) -> str:
    return machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def execution(
    name: str,
    start: float = T0,
    status: str = "RUNNING",
    machine_arn: str = MACHINE,
    **changes: object,
) -> ExecutionRecord:
    fields: dict[str, object] = {
        "arn": arn_of(name, machine_arn),
        "machine_arn": machine_arn,
        "revision_id": "r1",
        "name": name,
        "machine_type": "STANDARD",
        "input": {"order": name},
        "status": status,
        "start": start,
    }
    fields.update(changes)
    return ExecutionRecord(**fields)  # type: ignore[arg-type]


def event(arn: str, event_id: int, kind: str = "PassStateEntered") -> StoredEvent:
    return StoredEvent(arn, event_id, event_id - 1, T0 + event_id, kind, {"name": f"S{event_id}"})


def started(store: Store, *names: str, start: float = T0) -> list[str]:
    arns = []
    for i, name in enumerate(names):
        record, created = store.create_execution(execution(name, start=start + i))
        assert created
        arns.append(record.arn)
    return arns


def task(arn: str, token: str, created: float = T0) -> ActivityTask:
    return ActivityTask(token, ACTIVITY, arn, {"token": token}, created)


# -- machines, versions, aliases, definitions --
def test_machine_round_trip_replace_and_find(store: Store) -> None:
    first = machine(tags={"z": "1", "a": "2"}, description="orders", logging_level="ALL")
    store.put_machine(first)
    assert store.get_machine(first.arn) == first
    assert list(store.get_machine(first.arn).tags) == ["z", "a"]  # type: ignore[union-attr]
    updated = machine(revision="r2", updated=T0 + 5)
    store.put_machine(updated)
    assert store.get_machine(first.arn) == updated
    assert store.find_machine("order") == updated
    assert store.find_machine("missing") is None
    assert store.get_machine("arn:missing") is None


def test_list_and_delete_machines(store: Store) -> None:
    for name in ("zeta", "alpha", "mid"):
        store.put_machine(machine(name))
    assert [m.name for m in store.list_machines()] == ["alpha", "mid", "zeta"]
    store.delete_machine(machine("mid").arn)
    assert [m.name for m in store.list_machines()] == ["alpha", "zeta"]
    store.delete_machine("arn:missing")  # deleting what is gone is not an error


def test_every_definition_revision_is_kept(store: Store) -> None:
    store.put_machine(machine(revision="r1"))
    store.put_machine(machine(revision="r2"))
    store.put_version(VersionRecord(MACHINE, 1, "r3", '{"v":3}', "", T0))
    store.delete_machine(MACHINE)
    assert store.get_definition("r1") == machine(revision="r1").definition
    assert store.get_definition("r2") == machine(revision="r2").definition
    assert store.get_definition("r3") == '{"v":3}'
    assert store.get_definition("r4") is None


def test_versions_are_numbered_and_immutable(store: Store) -> None:
    store.put_machine(machine())
    v2 = VersionRecord(MACHINE, 2, "r2", "{}", "second", T0 + 2)
    v1 = VersionRecord(MACHINE, 1, "r1", "{}", "first", T0 + 1)
    store.put_version(v2)
    store.put_version(v1)
    assert store.list_versions(MACHINE) == [v1, v2]
    assert v1.arn == f"{MACHINE}:1"
    with pytest.raises(StoreError):
        store.put_version(VersionRecord(MACHINE, 1, "r9", "{}", "again", T0))
    assert store.list_versions(MACHINE) == [v1, v2]
    store.delete_version(MACHINE, 1)
    assert store.list_versions(MACHINE) == [v2]
    assert store.list_versions(OTHER_MACHINE) == []


def test_aliases_and_machine_deletion_removes_versions_and_aliases(store: Store) -> None:
    store.put_machine(machine())
    prod = AliasRecord(MACHINE, "prod", ((1, 90), (2, 10)), "production", T0, T0)
    beta = AliasRecord(MACHINE, "beta", ((2, 100),), "", T0, T0)
    store.put_alias(prod)
    store.put_alias(beta)
    assert store.get_alias(f"{MACHINE}:prod") == prod
    assert store.list_aliases(MACHINE) == [beta, prod]
    moved = AliasRecord(MACHINE, "prod", ((2, 100),), "production", T0, T0 + 1)
    store.put_alias(moved)
    assert store.get_alias(prod.arn) == moved
    store.delete_alias(beta.arn)
    assert store.list_aliases(MACHINE) == [moved]
    store.put_version(VersionRecord(MACHINE, 1, "r1", "{}", "", T0))
    store.delete_machine(MACHINE)
    assert store.list_aliases(MACHINE) == []
    assert store.list_versions(MACHINE) == []
    assert store.get_alias(prod.arn) is None


# -- executions --
def test_create_execution_inserts_once_and_returns_the_stored_record(store: Store) -> None:
    first = execution("a", input={"z": 1, "a": [1.5, "é", None, True]}, trace_header="Root=1")
    assert store.create_execution(first) == (first, True)
    again = execution("a", input={"other": 1})
    assert store.create_execution(again) == (first, False)
    stored = store.get_execution(first.arn)
    assert stored == first
    assert stored is not None
    assert isinstance(stored.input, dict)
    assert list(stored.input) == ["z", "a"]
    assert store.get_execution(arn_of("missing")) is None


def test_create_execution_is_atomic_under_concurrency(store: Store) -> None:
    racers = 8
    barrier = Barrier(racers)

    def create(i: int) -> bool:
        barrier.wait()
        return store.create_execution(execution("same", input={"racer": i}))[1]

    with ThreadPoolExecutor(racers) as pool:
        created = list(pool.map(create, range(racers)))
    assert created.count(True) == 1
    winner = created.index(True)
    assert store.get_execution(arn_of("same")).input == {"racer": winner}  # type: ignore[union-attr]


def test_create_executions_in_one_batch_with_a_lease(store: Store) -> None:
    (existing,) = started(store, "old")
    lease = Lease("", "w1", "h1", 11, T0 + 30)
    new_a, new_b = execution("a", start=T0 + 1), execution("b", start=T0 + 2)
    results = store.create_executions(
        [new_a, execution("old", input={"other": 1}), new_b, execution("a", input={"dup": 1})],
        lease,
    )
    assert results == [
        (new_a, True),
        (execution("old"), False),
        (new_b, True),
        (new_a, False),  # a repeat within the batch sees the first
    ]
    # the new executions are already held by the starting worker; the old one is free
    assert store.leases_on_host("h1") == [
        Lease(new_a.arn, "w1", "h1", 11, T0 + 30),
        Lease(new_b.arn, "w1", "h1", 11, T0 + 30),
    ]
    assert [e.arn for e in store.claim("w2", "h2", 22, T0 + 10, 30, 10)] == [existing]
    assert store.create_executions([]) == []


def test_create_executions_same_names_across_batches(store: Store) -> None:
    """A name started in an earlier batch is found, not created, by every later batch (with
    the first start's record), and is leased only by the batch that created it."""
    first = store.create_executions([execution("a"), execution("b")], Lease("", "w1", "h", 1, T0))
    assert first == [(execution("a"), True), (execution("b"), True)]
    second = store.create_executions(
        [execution("b", input={"again": 2}), execution("c"), execution("a", input={"again": 1})],
        Lease("", "w2", "h", 2, T0 + 5),
    )
    assert second == [(execution("b"), False), (execution("c"), True), (execution("a"), False)]
    everything_old = store.create_executions(
        [execution("c", input={"x": 1}), execution("c", input={"x": 2})],
        Lease("", "w3", "h", 3, T0 + 9),
    )
    assert everything_old == [(execution("c"), False), (execution("c"), False)]
    assert store.leases_on_host("h") == [
        Lease(arn_of("a"), "w1", "h", 1, T0),
        Lease(arn_of("b"), "w1", "h", 1, T0),
        Lease(arn_of("c"), "w2", "h", 2, T0 + 5),
    ]


def test_create_executions_in_a_batch_larger_than_one_statement(store: Store) -> None:
    """2,500 starts in one batch: more bound values than one SQLite statement takes, so the
    INSERT is sent in several parts, all in the one transaction."""
    names = [f"n{i:04}" for i in range(2500)]
    batch = [execution(name, start=T0 + i) for i, name in enumerate(names)]
    lease = Lease("", "w1", "h", 1, T0 + 30)
    assert store.create_executions(batch, lease) == [(record, True) for record in batch]
    again = [execution(name, input={"again": True}) for name in reversed(names)]
    assert store.create_executions(again, lease) == [(record, False) for record in reversed(batch)]
    assert [held.execution_arn for held in store.leases_on_host("h")] == sorted(
        arn_of(name) for name in names
    )


def test_create_executions_same_names_from_concurrent_batches(store: Store) -> None:
    """Batches racing on overlapping names (each thread its own connection, as several
    processes would be): each name is created once, every batch gets its one stored record,
    and only its creator holds its lease."""
    racers, names = 6, [f"n{i}" for i in range(30)]
    barrier = Barrier(racers)

    def create(i: int) -> list[tuple[ExecutionRecord, bool]]:
        mine = names[i:] + names[:i]  # each racer in its own order
        barrier.wait()
        return store.create_executions(
            [execution(name, input={"racer": i}) for name in mine],
            Lease("", f"w{i}", "h", i + 1, T0),
        )

    with ThreadPoolExecutor(racers) as pool:
        outcomes = list(pool.map(create, range(racers)))
    creator: dict[str, str] = {}
    for i, results in enumerate(outcomes):
        for record, created in results:
            assert record == store.get_execution(record.arn)
            if created:
                assert record.name not in creator
                creator[record.name] = f"w{i}"
                assert record.input == {"racer": i}
    assert sorted(creator) == sorted(names)
    assert {held.execution_arn: held.worker_id for held in store.leases_on_host("h")} == {
        arn_of(name): worker for name, worker in creator.items()
    }


def test_sql_create_and_commit_is_one_transaction(store: Store) -> None:
    """SqlStore.create_and_commit (the journal's starts plus neighbouring steps): both apply,
    or, when the commits fail, neither (the new executions are not left behind)."""
    if not isinstance(store, SqlStore):
        pytest.skip("create_and_commit is the SQL stores' (the memory store has no fsync)")
    (old,) = started(store, "old")
    lease = Lease("", "w1", "h", 1, T0 + 30)
    results = store.create_and_commit(
        [execution("a"), execution("old", input={"x": 1})],
        lease,
        [Commit(execution_arn=old, state={"step": 1})],
    )
    assert results == [(execution("a"), True), (execution("old"), False)]
    assert store.get_execution(old) == execution("old", state={"step": 1})
    assert [x.execution_arn for x in store.leases_on_host("h")] == [arn_of("a")]
    with pytest.raises(StoreError):
        store.create_and_commit(
            [execution("b")], lease, [Commit(execution_arn=arn_of("ghost"), state={})]
        )
    assert store.get_execution(arn_of("b")) is None
    assert [x.execution_arn for x in store.leases_on_host("h")] == [arn_of("a")]


def test_times_and_optional_fields_round_trip_exactly(store: Store) -> None:
    record = execution(
        "exact",
        start=1_700_000_000.123456789,
        sync=True,
        redrive_count=2,
        version_arn=f"{MACHINE}:3",
        alias_arn=f"{MACHINE}:prod",
        machine_type="EXPRESS",
    )
    store.create_execution(record)
    assert store.get_execution(record.arn) == record


def test_update_execution_replaces_the_row(store: Store) -> None:
    (arn,) = started(store, "a")
    failed = execution("a", status="FAILED", stop=T0 + 9, error="E", cause="C", state={"v": 1})
    store.update_execution(failed)
    assert store.get_execution(arn) == failed
    with pytest.raises(StoreError):
        store.update_execution(execution("missing"))


def test_list_executions_newest_first_in_pages(store: Store) -> None:
    for i in range(5):
        store.create_execution(execution(f"e{i}", start=T0 + i))
    store.create_execution(execution("tie-a", start=T0 + 2))
    store.create_execution(execution("x", start=T0 + 99, machine_arn=OTHER_MACHINE))
    seen: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page, token = store.list_executions(MACHINE, limit=2, after=token)
        pages += 1
        seen.extend(e.name for e in page)
        if token is None:
            break
    assert seen == ["e4", "e3", "tie-a", "e2", "e1", "e0"]
    assert pages == 3
    everything, token = store.list_executions(MACHINE)
    assert [e.name for e in everything] == seen
    assert token is None


def test_list_executions_filters_by_status(store: Store) -> None:
    store.create_execution(execution("run", start=T0))
    store.create_execution(execution("ok", start=T0 + 1, status="SUCCEEDED", stop=T0 + 2))
    store.create_execution(execution("ok2", start=T0 + 3, status="SUCCEEDED", stop=T0 + 4))
    page, token = store.list_executions(MACHINE, status="SUCCEEDED", limit=1)
    assert [e.name for e in page] == ["ok2"]
    page, token = store.list_executions(MACHINE, status="SUCCEEDED", limit=1, after=token)
    assert ([e.name for e in page], token) == (["ok"], None)
    assert store.list_executions(MACHINE, status="ABORTED") == ([], None)


def test_list_executions_searches_names_ignoring_case(store: Store) -> None:
    for i, name in enumerate(["Order-1", "order_2", "refund-1", "100%_sure", "100x_sure"]):
        store.create_execution(execution(name, start=T0 + i))
    page, token = store.list_executions(MACHINE, name="ORDER", limit=1)
    assert [e.name for e in page] == ["order_2"]
    page, token = store.list_executions(MACHINE, name="ORDER", limit=1, after=token)
    assert ([e.name for e in page], token) == (["Order-1"], None)
    # % and _ are the search's own characters, not wildcards
    assert [e.name for e in store.list_executions(MACHINE, name="0%_")[0]] == ["100%_sure"]
    assert store.list_executions(MACHINE, name="-1", status="SUCCEEDED") == ([], None)
    assert [e.name for e in store.list_executions(MACHINE, name="-1")[0]] == [
        "refund-1",
        "Order-1",
    ]


@pytest.mark.parametrize(
    "token", ["garbage!", "", "WzFd", "bnVsbA=="], ids=["text", "empty", "short-list", "null"]
)
def test_list_executions_rejects_a_foreign_token(store: Store, token: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        store.list_executions(MACHINE, after=token)
    assert raised.value.code == "InvalidToken"


# -- commit --
def test_commit_stores_snapshot_history_timers_and_tokens(store: Store) -> None:
    (arn,) = started(store, "a")
    store.commit(
        [
            Commit(
                arn,
                {"step": 1, "z": 0, "a": 1},
                events=(event(arn, 1, "ExecutionStarted"), event(arn, 2)),
                timers_added=(
                    TimerRecord(arn, "wait|2", T0 + 60),
                    TimerRecord(arn, "t|1", T0 + 30),
                ),
                tokens_added=(TokenRecord("tok-1", arn, T0),),
            )
        ]
    )
    stored = store.get_execution(arn)
    assert stored is not None
    assert stored.state == {"step": 1, "z": 0, "a": 1}
    assert isinstance(stored.state, dict)
    assert list(stored.state) == ["step", "z", "a"]
    assert store.get_history(arn) == [event(arn, 1, "ExecutionStarted"), event(arn, 2)]
    assert store.timers_for(arn) == [
        TimerRecord(arn, "t|1", T0 + 30),
        TimerRecord(arn, "wait|2", T0 + 60),
    ]
    assert store.find_token("tok-1") == TokenRecord("tok-1", arn, T0)
    assert store.find_token("tok-2") is None


def test_commit_without_state_keeps_the_snapshot(store: Store) -> None:
    (arn,) = started(store, "a")
    store.commit([Commit(arn, {"step": 1})])
    store.commit([Commit(arn, None, events=(event(arn, 1),))])
    assert store.get_execution(arn).state == {"step": 1}  # type: ignore[union-attr]


def test_commit_applies_timer_and_token_changes_in_order(store: Store) -> None:
    (arn,) = started(store, "a")
    store.commit(
        [
            Commit(
                arn,
                {"step": 1},
                timers_added=(TimerRecord(arn, "keep", T0 + 1), TimerRecord(arn, "gone", T0 + 2)),
                tokens_added=(TokenRecord("keep", arn, T0), TokenRecord("gone", arn, T0)),
            ),
            # one step both starting and cancelling a timer leaves none
            Commit(
                arn,
                {"step": 2},
                timers_added=(TimerRecord(arn, "flash", T0 + 3),),
                timers_cancelled=("gone", "flash", "never-existed"),
                tokens_removed=("gone", "never-existed"),
            ),
        ]
    )
    store.commit([Commit(arn, {"step": 3}, timers_added=(TimerRecord(arn, "keep", T0 + 9),))])
    assert store.timers_for(arn) == [TimerRecord(arn, "keep", T0 + 9)]
    assert store.find_token("keep") == TokenRecord("keep", arn, T0)
    assert store.find_token("gone") is None
    assert store.get_execution(arn).state == {"step": 3}  # type: ignore[union-attr]


def test_commit_of_many_executions_in_one_batch(store: Store) -> None:
    arns = started(store, "a", "b", "c")
    store.commit(
        [Commit(arn, {"n": i}, events=(event(arn, 1), event(arn, 2))) for i, arn in enumerate(arns)]
        + [Commit(arns[0], {"n": 10}, events=(event(arns[0], 3),))]
    )
    assert [store.get_execution(a).state for a in arns] == [{"n": 10}, {"n": 1}, {"n": 2}]  # type: ignore[union-attr]
    assert [e.id for e in store.get_history(arns[0])] == [1, 2, 3]
    assert [e.id for e in store.get_history(arns[2])] == [1, 2]


def _snapshot(store: Store, arns: list[str]) -> list[object]:
    return [
        (
            store.get_execution(a),
            store.get_history(a),
            store.timers_for(a),
            store.find_token(f"t-{a}"),
        )
        for a in arns
    ]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(
            lambda a, b: [Commit(b, {"x": 1}, events=(event(b, 1),))], id="event-already-stored"
        ),
        pytest.param(
            lambda a, b: [Commit(b, {"x": 1}, events=(event(b, 2), event(b, 2)))],
            id="duplicate-in-commit",
        ),
        pytest.param(
            lambda a, b: [
                Commit(b, {"x": 1}, events=(event(b, 2),)),
                Commit(b, {"x": 2}, events=(event(b, 2),)),
            ],
            id="duplicate-across-batch",
        ),
        pytest.param(lambda a, b: [Commit(arn_of("nobody"), {"x": 1})], id="unknown-execution"),
        pytest.param(
            lambda a, b: [Commit(arn_of("nobody"), None, events=(event(arn_of("nobody"), 1),))],
            id="unknown-execution-events",
        ),
    ],
)
def test_a_refused_batch_changes_nothing(
    store: Store, bad: Callable[[str, str], list[Commit]]
) -> None:
    a, b = started(store, "a", "b")
    store.commit([Commit(b, {"x": 0}, events=(event(b, 1),))])
    before = _snapshot(store, [a, b])
    good = Commit(
        a,
        {"changed": True},
        events=(event(a, 1),),
        timers_added=(TimerRecord(a, "t", T0),),
        tokens_added=(TokenRecord(f"t-{a}", a, T0),),
        status="SUCCEEDED",
        stop=T0 + 1,
    )
    with pytest.raises(StoreError):
        store.commit([good, *bad(a, b)])
    assert _snapshot(store, [a, b]) == before


def test_commit_closing_an_execution_drops_its_runtime_rows(store: Store) -> None:
    arn, other = started(store, "a", "b")
    store.commit(
        [
            Commit(
                arn,
                {"step": 1},
                timers_added=(TimerRecord(arn, "t", T0 + 5),),
                tokens_added=(TokenRecord("tok", arn, T0, ACTIVITY),),
                activity_tasks=(task(arn, "tok"),),
            ),
            Commit(other, {"step": 1}, timers_added=(TimerRecord(other, "t", T0 + 5),)),
        ]
    )
    assert [x.arn for x in store.claim("w", "host", 1, T0, 30, 10)] == [arn, other]
    # a stop that lost the race with the close: moot once the execution closed
    store.post_event(arn, {"kind": "stop"})
    kept = store.post_event(other, {"kind": "stop"})
    store.commit(
        [
            Commit(
                arn,
                None,
                events=(event(arn, 1, "ExecutionSucceeded"),),
                timers_added=(TimerRecord(arn, "late", T0 + 9),),
                status="SUCCEEDED",
                stop=T0 + 7,
                output={"done": [1, 2]},
            )
        ]
    )
    closed = store.get_execution(arn)
    assert closed == execution(
        "a",
        status="SUCCEEDED",
        stop=T0 + 7,
        output={"done": [1, 2]},
        state={"step": 1},
        claims=1,  # claimed once (above)
    )
    assert store.timers_for(arn) == []
    assert store.find_token("tok") is None
    assert store.take_activity_task(ACTIVITY, "w") is None
    assert [x.execution_arn for x in store.leases_on_host("host")] == [other]
    assert store.timers_for(other) == [TimerRecord(other, "t", T0 + 5)]
    assert store.pending_events(arn) == []
    assert [e.seq for e in store.pending_events(other)] == [kept]
    assert store.executions_with_events() == [other]
    # a closed execution is never claimed again
    assert store.claim("w2", "host", 2, T0 + 100, 30, 10) == [store.get_execution(other)]


def test_commit_close_with_error_and_state(store: Store) -> None:
    (arn,) = started(store, "a")
    store.commit(
        [
            Commit(
                arn,
                {"final": True},
                status="FAILED",
                stop=T0 + 1,
                error="States.TaskFailed",
                cause="lost",
            )
        ]
    )
    assert store.get_execution(arn) == execution(
        "a",
        status="FAILED",
        stop=T0 + 1,
        error="States.TaskFailed",
        cause="lost",
        state={"final": True},
    )


def test_empty_batch_is_a_no_op(store: Store) -> None:
    store.commit([])
    assert store.list_executions(MACHINE) == ([], None)


# -- history --
@pytest.mark.parametrize(
    ("after_id", "limit", "reverse", "expected"),
    [
        (0, 1000, False, [1, 2, 3, 4, 5]),
        (2, 2, False, [3, 4]),
        (5, 10, False, []),
        (0, 2, True, [5, 4]),
        (4, 2, True, [3, 2]),
        (2, 10, True, [1]),
    ],
    ids=["all", "after-2", "after-last", "newest", "before-4", "before-2"],
)
def test_history_pages(
    store: Store, after_id: int, limit: int, reverse: bool, expected: list[int]
) -> None:
    (arn,) = started(store, "a")
    store.commit([Commit(arn, None, events=tuple(event(arn, i) for i in (1, 2)))])
    store.commit([Commit(arn, None, events=tuple(event(arn, i) for i in (3, 4, 5)))])
    found = store.get_history(arn, after_id=after_id, limit=limit, reverse=reverse)
    assert [e.id for e in found] == expected
    assert found == [event(arn, i) for i in expected]


# -- leases --
def test_claim_takes_free_running_executions_oldest_first(store: Store) -> None:
    a, b, c = started(store, "a", "b", "c")
    store.create_execution(execution("done", status="SUCCEEDED", stop=T0))
    first = store.claim("w1", "h1", 11, T0 + 10, 30, 2)
    assert [e.arn for e in first] == [a, b]
    assert [e.arn for e in store.claim("w2", "h2", 22, T0 + 10, 30, 10)] == [c]
    assert store.claim("w1", "h1", 11, T0 + 10, 30, 10) == []  # already held, even by itself
    assert sorted(store.leases_on_host("h1"), key=lambda x: x.execution_arn) == [
        Lease(a, "w1", "h1", 11, T0 + 40),
        Lease(b, "w1", "h1", 11, T0 + 40),
    ]


def test_expired_lease_is_taken_over_and_renewal_keeps_it(store: Store) -> None:
    a, b = started(store, "a", "b")
    store.claim("w1", "h1", 11, T0, 30, 10)
    store.renew("w1", [a], T0 + 20, 30)  # a now expires at T0 + 50; b still at T0 + 30
    store.renew("intruder", [b], T0 + 20, 300)  # renewing another worker's lease does nothing
    assert store.claim("w2", "h2", 22, T0 + 30, 30, 10) == []  # expires < now, not <=
    taken = store.claim("w2", "h2", 22, T0 + 31, 30, 10)
    assert [e.arn for e in taken] == [b]
    assert store.leases_on_host("h2") == [Lease(b, "w2", "h2", 22, T0 + 61)]
    store.renew("w1", [b], T0 + 32, 30)  # the old holder lost it: its renewal changes nothing
    assert store.leases_on_host("h2") == [Lease(b, "w2", "h2", 22, T0 + 61)]


def test_claim_finds_the_one_free_execution_among_many_leased(store: Store) -> None:
    """A claim that can find nothing answers from counts (SqlStore._may_claim); the one
    unleased RUNNING execution, or the one lapsed lease, among many held is still found, and an
    execution closed by a commit leaves no lease behind to hide a free one."""
    names = [f"e{i:03}" for i in range(300)]
    store.create_executions([execution(n) for n in names], Lease("", "w1", "h", 1, T0 + 30))
    assert store.claim("w2", "h", 2, T0 + 10, 30, 10) == []
    (free,) = started(store, "free", start=T0 + 5)  # recorded by another process: no lease
    assert [e.arn for e in store.claim("w2", "h", 2, T0 + 10, 30, 10)] == [free]
    assert store.claim("w2", "h", 2, T0 + 10, 30, 10) == []
    # a closed execution's lease goes with its closing commit, then a new one is free
    store.commit([Commit(arn_of("e000"), None, status="SUCCEEDED", stop=T0 + 11)])
    (late,) = started(store, "late", start=T0 + 12)
    assert [e.arn for e in store.claim("w2", "h", 2, T0 + 12, 30, 10)] == [late]
    # w1 renews all but one, which lapses and is taken over
    store.renew_held("w1", [arn_of("e007")], T0 + 20, 30)
    assert store.claim("w2", "h", 2, T0 + 30, 30, 10) == []  # expires < now, not <=
    assert [e.arn for e in store.claim("w2", "h", 2, T0 + 31, 30, 10)] == [arn_of("e007")]
    assert store.claim("w2", "h", 2, T0 + 31, 30, 10) == []


def test_renew_many_leases_in_slices(store: Store) -> None:
    """1,234 leases renewed at once (the SQL store sends them 500 per statement, the last
    padded): every one is extended, and only the renewing worker's."""
    names = [f"e{i:04}" for i in range(1234)]
    batch = [execution(name) for name in names]
    store.create_executions(batch[:1000], Lease("", "w1", "h", 1, T0 + 30))
    store.create_executions(batch[1000:], Lease("", "w2", "h", 2, T0 + 30))
    store.renew("w1", [arn_of(name) for name in names], T0 + 20, 30)
    expires = {lease.execution_arn: lease.expires for lease in store.leases_on_host("h")}
    assert expires == {
        arn_of(name): T0 + 50 if i < 1000 else T0 + 30 for i, name in enumerate(names)
    }
    store.renew("w2", [arn_of(names[-1])], T0 + 25, 30)  # fewer than one slice
    assert store.leases_on_host("h")[-1] == Lease(arn_of(names[-1]), "w2", "h", 2, T0 + 55)


def test_renew_held_extends_every_lease_of_the_worker_but_the_lapsing(store: Store) -> None:
    """One statement renews all a worker holds (a worker holding 100,000 waiting executions
    renewed them 500 per statement); those it stopped driving are left out, to lapse."""
    names = [f"e{i:04}" for i in range(1200)]
    batch = [execution(name) for name in names]
    store.create_executions(batch[:1100], Lease("", "w1", "h", 1, T0 + 30))
    store.create_executions(batch[1100:], Lease("", "w2", "h", 2, T0 + 30))
    lapsing = [arn_of(name) for name in names[:600]]  # more than one slice of 500
    store.renew_held("w1", lapsing, T0 + 20, 30)
    expires = {lease.execution_arn: lease.expires for lease in store.leases_on_host("h")}
    assert expires == {
        arn_of(name): T0 + 50 if 600 <= i < 1100 else T0 + 30 for i, name in enumerate(names)
    }
    store.renew_held("w2", [], T0 + 25, 30)  # nothing lapsing: all of w2's, none of w1's
    expires = {lease.execution_arn: lease.expires for lease in store.leases_on_host("h")}
    assert expires == {
        arn_of(name): T0 + 30 if i < 600 else T0 + 50 if i < 1100 else T0 + 55
        for i, name in enumerate(names)
    }


def test_release_and_expire_leases_free_executions(store: Store) -> None:
    a, b, c = started(store, "a", "b", "c")
    store.claim("w1", "h1", 11, T0, 30, 1)
    store.claim("w2", "h1", 12, T0, 30, 1)
    store.claim("w3", "h2", 11, T0, 30, 1)
    store.release("w2", [a, b])  # only its own lease (b) goes
    assert [x.execution_arn for x in store.leases_on_host("h1")] == [a]
    assert store.expire_leases("h1", [99, 11]) == 1  # same pid on h2 is another process
    assert store.expire_leases("h1", []) == 0
    assert store.leases_on_host("h1") == []
    assert store.leases_on_host("h2") == [Lease(c, "w3", "h2", 11, T0 + 30)]
    assert [e.arn for e in store.claim("w4", "h1", 13, T0, 30, 10)] == [a, b]


def test_lease_pids_on_host_are_distinct_and_per_host(store: Store) -> None:
    started(store, "a", "b", "c", "d")
    assert store.lease_pids_on_host("h1") == []
    store.claim("w1", "h1", 12, T0, 30, 2)  # a and b: one pid, listed once
    store.claim("w2", "h1", 11, T0, 30, 1)
    store.claim("w3", "h2", 13, T0, 30, 1)  # another host
    assert store.lease_pids_on_host("h1") == [11, 12]
    assert store.lease_pids_on_host("h2") == [13]
    store.expire_leases("h1", [12])
    assert store.lease_pids_on_host("h1") == [11]


def test_concurrent_claims_never_share_an_execution(store: Store) -> None:
    names = [f"e{i:02}" for i in range(40)]
    started(store, *names)
    workers = 4
    barrier = Barrier(workers)

    def claim_all(w: int) -> list[str]:
        barrier.wait()
        mine: list[str] = []
        while batch := store.claim(f"w{w}", "h", w, T0, 30, 3):
            mine.extend(e.arn for e in batch)
        return mine

    with ThreadPoolExecutor(workers) as pool:
        held = list(pool.map(claim_all, range(workers)))
    everything = [arn for mine in held for arn in mine]
    assert sorted(everything) == sorted(arn_of(n) for n in names)
    assert len(set(everything)) == len(names)
    leases = [
        lease
        for w in range(workers)
        for lease in store.leases_on_host("h")
        if lease.worker_id == f"w{w}"
    ]
    assert {x.execution_arn: x.worker_id for x in leases} == {
        arn: f"w{w}" for w, mine in enumerate(held) for arn in mine
    }


# -- inbox --
def test_inbox_orders_events_and_commit_consumes_them(store: Store) -> None:
    a, b = started(store, "a", "b")
    s1 = store.post_event(b, {"kind": "stop", "error": None})
    s2 = store.post_event(a, {"kind": "heartbeat", "token": "t"})
    s3 = store.post_event(b, {"kind": "callback", "z": 1, "a": 2})
    assert s1 < s2 < s3
    assert store.executions_with_events() == [b, a]
    pending = store.pending_events(b)
    assert [(e.seq, e.execution_arn, e.payload) for e in pending] == [
        (s1, b, {"kind": "stop", "error": None}),
        (s3, b, {"kind": "callback", "z": 1, "a": 2}),
    ]
    assert list(pending[1].payload) == ["kind", "z", "a"]  # type: ignore[arg-type]
    store.commit(
        [Commit(b, {"v": 1}, inbox_consumed=(s1, s3)), Commit(a, None, inbox_consumed=(s1,))]
    )
    assert store.pending_events(b) == []
    assert [e.seq for e in store.pending_events(a)] == [s2]  # another execution's seq is not its
    assert store.executions_with_events() == [a]
    assert store.post_event(b, {"kind": "stop"}) > s3


def test_batch_reads_of_inbox_events_and_timers_match_the_single_reads(store: Store) -> None:
    a, b, c = started(store, "a", "b", "c")
    s1 = store.post_event(b, {"kind": "stop", "error": None})
    s2 = store.post_event(a, {"kind": "heartbeat", "token": "t"})
    s3 = store.post_event(b, {"kind": "callback", "n": 3})
    store.commit(
        [
            Commit(a, {"v": 1}, timers_added=(TimerRecord(a, "w2", T0 + 9),)),
            Commit(a, {"v": 2}, timers_added=(TimerRecord(a, "w1", T0 + 9),)),
            Commit(b, {"v": 1}, timers_added=(TimerRecord(b, "r", T0 + 1),)),
        ]
    )
    events = store.pending_events_of([a, b, c, arn_of("nobody")])
    assert {arn: [e.seq for e in found] for arn, found in events.items()} == {
        a: [s2],
        b: [s1, s3],
    }
    assert events[b] == store.pending_events(b)
    assert store.timers_of([c, b, a]) == {
        a: [TimerRecord(a, "w1", T0 + 9), TimerRecord(a, "w2", T0 + 9)],
        b: [TimerRecord(b, "r", T0 + 1)],
    }
    assert store.pending_events_of([]) == {} == store.timers_of([c])


def test_batch_reads_span_more_keys_than_one_statement_takes(store: Store) -> None:
    names = [f"x{i:04d}" for i in range(1_203)]
    arns = [execution(n).arn for n in names]
    store.create_executions([execution(n) for n in names])
    store.commit([Commit(arn, {"v": 1}, timers_added=(TimerRecord(arn, "t", T0),)) for arn in arns])
    seqs = [store.post_event(arn, {"kind": "stop"}) for arn in arns[::100]]
    assert sorted(store.timers_of(arns)) == sorted(arns)
    events = store.pending_events_of(arns)
    assert [found[0].seq for found in events.values()] == seqs


def test_lease_calls_span_more_keys_than_one_statement_takes(store: Store) -> None:
    """A worker renewing, forgiving and releasing every lease it holds (100,000 while as many
    wait): each goes slice by slice, all in one transaction."""
    store.create_executions([execution(f"x{i:04d}") for i in range(1_203)])
    held = [r.arn for r in store.claim("w1", "h", 1, T0, 30, 2_000)]
    assert len(held) == 1_203
    store.renew("w1", held, T0 + 20, 30)
    assert store.claim("w2", "h", 2, T0 + 40, 30, 2_000) == []  # renewed: all still held
    store.forgive_claims("w1", held)
    assert {store.get_execution(a).claims for a in held} == {0}  # type: ignore[union-attr]
    store.release("w1", held)
    assert sorted(r.arn for r in store.claim("w2", "h", 2, T0 + 40, 30, 2_000)) == sorted(held)


def test_post_event_for_an_unknown_execution_fails(store: Store) -> None:
    with pytest.raises(StoreError):
        store.post_event(arn_of("nobody"), {"kind": "stop"})


# -- activities --
def test_activities_round_trip(store: Store) -> None:
    second = ActivityRecord(ACTIVITY.replace("approve", "zap"), "zap", T0, {"k": "v"})
    first = ActivityRecord(ACTIVITY, "approve", T0)
    store.put_activity(second)
    store.put_activity(first)
    assert store.get_activity(ACTIVITY) == first
    assert store.list_activities() == [first, second]
    store.delete_activity(ACTIVITY)
    assert store.get_activity(ACTIVITY) is None
    assert store.list_activities() == [second]


def test_activity_tasks_are_handed_out_once_oldest_first(store: Store) -> None:
    a, b = started(store, "a", "b")
    store.commit(
        [
            Commit(
                b,
                None,
                tokens_added=(TokenRecord("t2", b, T0, ACTIVITY),),
                activity_tasks=(task(b, "t2", T0),),
            ),
            Commit(
                a,
                None,
                tokens_added=(TokenRecord("t1", a, T0, ACTIVITY),),
                activity_tasks=(task(a, "t1", T0),),
            ),
        ]
    )
    store.commit(
        [Commit(a, None, tokens_added=(TokenRecord("t3", a, T0),), activity_tasks=(task(a, "t3"),))]
    )
    assert store.take_activity_task(ACTIVITY.replace("approve", "other"), "w") is None
    assert store.take_activity_task(ACTIVITY, "worker-1") == ActivityTask(
        "t2", ACTIVITY, b, {"token": "t2"}, T0, "worker-1"
    )
    assert store.take_activity_task(ACTIVITY, None) == task(a, "t1")
    # a task whose token is gone (callback, timeout) is never handed out
    store.commit([Commit(a, None, tokens_removed=("t3",))])
    assert store.take_activity_task(ACTIVITY, "worker-1") is None


def test_concurrent_activity_polls_never_share_a_task(store: Store) -> None:
    (arn,) = started(store, "a")
    tokens = [f"tok{i:02}" for i in range(30)]
    store.commit([Commit(arn, None, activity_tasks=tuple(task(arn, t) for t in tokens))])
    workers = 4
    barrier = Barrier(workers)

    def poll(w: int) -> list[str]:
        barrier.wait()
        got: list[str] = []
        while (handed := store.take_activity_task(ACTIVITY, f"w{w}")) is not None:
            got.append(handed.token)
        return got

    with ThreadPoolExecutor(workers) as pool:
        handed = [t for got in pool.map(poll, range(workers)) for t in got]
    assert sorted(handed) == tokens


# -- retention --
def test_purge_deletes_closed_executions_and_everything_they_own(store: Store) -> None:
    old, recent, running = started(store, "old", "recent", "running")
    for arn in (old, recent, running):
        store.commit(
            [
                Commit(
                    arn,
                    {"v": 1},
                    events=(event(arn, 1),),
                    timers_added=(TimerRecord(arn, "t", T0),),
                    tokens_added=(TokenRecord(f"t-{arn}", arn, T0),),
                )
            ]
        )
        store.post_event(arn, {"kind": "stop"})
    store.commit([Commit(old, None, status="SUCCEEDED", stop=T0 + 10)])
    store.commit([Commit(recent, None, status="FAILED", stop=T0 + 30)])
    assert store.purge(closed_before=T0 + 10) == 0  # strictly before
    assert store.purge(closed_before=T0 + 20) == 1
    assert store.get_execution(old) is None
    assert store.get_history(old) == []
    assert store.pending_events(old) == []
    assert store.executions_with_events() == [running]  # closing dropped recent's inbox
    assert store.get_execution(recent) is not None
    assert store.get_history(running) == [event(running, 1)]
    assert store.find_token(f"t-{running}") == TokenRecord(f"t-{running}", running, T0)
    # the name is free again once its history is gone
    assert store.create_execution(execution("old"))[1] is True
    assert store.purge(closed_before=T0 + 1e9) == 1  # the running one is never purged


def test_a_timed_out_token_becomes_a_tombstone_and_its_activity_task_is_withdrawn(
    store: Store,
) -> None:
    (arn,) = started(store, "a")
    store.commit(
        [
            Commit(
                arn,
                {"step": 1},
                tokens_added=(TokenRecord("tok", arn, T0, ACTIVITY),),
                activity_tasks=(task(arn, "tok"),),
            )
        ]
    )
    tombstone = TokenRecord("tok", arn, T0 + 60, status="TIMED_OUT")
    store.commit([Commit(arn, {"step": 2}, tokens_timed_out=(tombstone,))])
    assert store.find_token("tok") == tombstone
    assert store.take_activity_task(ACTIVITY, "w") is None
    # closing the execution drops tombstones too: the token is then simply unknown
    store.commit([Commit(arn, None, status="FAILED", stop=T0 + 61, error="States.Timeout")])
    assert store.find_token("tok") is None


def test_a_token_is_answered_once(store: Store) -> None:
    (arn,) = started(store, "a")
    store.commit([Commit(arn, {"step": 1}, tokens_added=(TokenRecord("tok", arn, T0),))])
    assert store.post_callback("tok", {"kind": "callback", "n": 1}) == TokenRecord("tok", arn, T0)
    assert store.find_token("tok") == TokenRecord("tok", arn, T0, status="ANSWERED")
    assert store.post_callback("tok", {"kind": "callback", "n": 2}) == TokenRecord(
        "tok", arn, T0, status="ANSWERED"
    )
    assert store.post_callback("unknown", {"kind": "callback"}) is None
    assert [e.payload for e in store.pending_events(arn)] == [{"kind": "callback", "n": 1}]
    # the step that applies the callback removes the token, as for any answered token
    store.commit([Commit(arn, {"step": 2}, tokens_removed=("tok",))])
    assert store.find_token("tok") is None


def test_a_timed_out_token_takes_no_callback(store: Store) -> None:
    (arn,) = started(store, "a")
    tombstone = TokenRecord("tok", arn, T0, status="TIMED_OUT")
    store.commit([Commit(arn, {"step": 1}, tokens_timed_out=(tombstone,))])
    assert store.post_callback("tok", {"kind": "callback"}) == tombstone
    assert store.pending_events(arn) == []


def test_concurrent_callbacks_on_one_token_accept_exactly_one(store: Store) -> None:
    (arn,) = started(store, "a")
    store.commit([Commit(arn, {"step": 1}, tokens_added=(TokenRecord("tok", arn, T0),))])
    racers = 6
    barrier = Barrier(racers)

    def answer(i: int) -> bool:
        barrier.wait()
        found = store.post_callback("tok", {"kind": "callback", "racer": i})
        return found is not None and found.status == "OPEN"

    with ThreadPoolExecutor(racers) as pool:
        accepted = list(pool.map(answer, range(racers)))
    assert accepted.count(True) == 1
    assert [e.payload for e in store.pending_events(arn)] == [
        {"kind": "callback", "racer": accepted.index(True)}
    ]


def test_claims_count_the_claims_in_a_row_that_found_no_progress(store: Store) -> None:
    """A claim of an execution with no new history event since its previous claim follows a
    lost drive: `claims` grows; progress (a new event) or a clean release starts it over. A
    worker closes an execution past CRASH_LIMIT (poison executions, runtime/worker.py)."""
    (arn,) = started(store, "a")
    assert store.get_execution(arn) == execution("a")  # claims=0

    def claim(now: float, worker: str = "w") -> int:
        (record,) = store.claim(worker, "host", 1, now, 30, 10)
        return record.claims

    # lost drives: each claim takes over the expired lease of the previous one
    assert [claim(T0), claim(T0 + 31), claim(T0 + 62)] == [1, 2, 3]
    store.commit([Commit(arn, {"step": 1}, events=(event(arn, 1, "ExecutionStarted"),))])
    assert claim(T0 + 93) == 1  # it made progress since
    assert claim(T0 + 124) == 2
    assert store.get_execution(arn) == execution("a", claims=2, state={"step": 1})
    store.release("other", [arn])  # not its lease: nothing changes
    assert store.get_execution(arn) == execution("a", claims=2, state={"step": 1})
    store.release("w", [arn])
    assert store.get_execution(arn) == execution("a", claims=0, state={"step": 1})
    assert claim(T0 + 125) == 1


# -- nested executions (engine/interpreter/nested.py) ------------------------------------------


def test_a_closing_commit_answers_the_parents_open_token_once(store: Store) -> None:
    """`Commit.callbacks`: the child's close answers its parent's token in the same
    transaction, as `post_callback` does (only an OPEN token; then it is ANSWERED)."""
    (parent,) = started(store, "parent")
    store.commit([Commit(parent, {"step": 1}, tokens_added=(TokenRecord("tok", parent, T0),))])
    store.create_execution(execution("child", parent_arn=parent, parent_token="tok"))
    child = arn_of("child")
    answer = ParentCallback("tok", parent, {"kind": "callback", "n": 1})
    store.commit([Commit(child, None, status="SUCCEEDED", stop=T0 + 1, callbacks=(answer,))])
    assert store.get_execution(child).status == "SUCCEEDED"  # type: ignore[union-attr]
    assert [e.payload for e in store.pending_events(parent)] == [{"kind": "callback", "n": 1}]
    assert store.find_token("tok") == TokenRecord("tok", parent, T0, status="ANSWERED")
    again = ParentCallback("tok", parent, {"kind": "callback", "n": 2})
    (other,) = started(store, "other")
    store.commit([Commit(other, None, status="SUCCEEDED", stop=T0 + 2, callbacks=(again,))])
    assert [e.payload for e in store.pending_events(parent)] == [{"kind": "callback", "n": 1}]


def test_a_child_stop_reaches_the_running_child_of_that_token_only(store: Store) -> None:
    """`Commit.child_stops`: queued for the RUNNING execution whose parent_token it names."""
    (parent,) = started(store, "parent")
    store.create_execution(execution("kid", parent_arn=parent, parent_token="t1"))
    store.create_execution(execution("other-kid", parent_arn=parent, parent_token="t2"))
    store.create_execution(
        execution("closed-kid", status="SUCCEEDED", parent_arn=parent, parent_token="t1")
    )
    stop = ChildStop("t1", {"kind": "stop"})
    store.commit([Commit(parent, {"step": 2}, child_stops=(stop,))])
    assert [e.payload for e in store.pending_events(arn_of("kid"))] == [{"kind": "stop"}]
    assert store.pending_events(arn_of("other-kid")) == []
    assert store.pending_events(arn_of("closed-kid")) == []
    stored = store.get_execution(arn_of("kid"))
    assert stored is not None
    assert (stored.parent_arn, stored.parent_token) == (parent, "t1")


def test_a_closed_execution_keeps_its_history_and_reopens_for_a_redrive(store: Store) -> None:
    (arn,) = started(store, "a")
    details = {"output": "\u00e9\ud800", "nested": {"z": 1, "a": [1.5, None]}}
    opened = StoredEvent(arn, 1, 0, T0 + 0.125, "ExecutionStarted", details)
    store.commit([Commit(arn, {"step": 1}, events=(opened,))])
    failed = event(arn, 2, "ExecutionFailed")
    store.commit([Commit(arn, {"step": 2}, events=(failed,), status="FAILED", stop=T0 + 2)])
    assert store.get_history(arn) == [opened, failed]
    assert store.get_history(arn, after_id=1) == [failed]
    assert store.get_history(arn, reverse=True, limit=1) == [failed]
    with pytest.raises(StoreError):  # its ids are still taken
        store.commit([Commit(arn, None, events=(event(arn, 2),))])
    record = store.get_execution(arn)
    assert record is not None
    store.update_execution(replace(record, status="RUNNING", stop=None))
    store.commit([Commit(arn, {"step": 3}, events=(event(arn, 3, "ExecutionRedriven"),))])
    assert [e.id for e in store.get_history(arn)] == [1, 2, 3]
    assert store.get_history(arn)[0].details == details


def test_map_run_outputs_are_the_succeeded_children_outputs_by_name(store: Store) -> None:
    run = "arn:aws:states:us-east-1:111111111111:mapRun:order/Fan:r1"
    for name, status, output in [
        ("c0", "SUCCEEDED", {"n": 0}),
        ("c1", "FAILED", None),
        ("c2", "SUCCEEDED", [2, "two"]),
        ("c3", "RUNNING", None),
    ]:
        arn = store.create_execution(execution(name, map_run_arn=run))[0].arn
        if status != "RUNNING":
            store.commit([Commit(arn, None, status=status, stop=T0 + 1, output=output)])
    store.create_execution(execution("other", status="SUCCEEDED"))
    assert store.map_run_outputs(run) == {"c0": {"n": 0}, "c2": [2, "two"]}
    assert store.map_run_outputs(run + "-none") == {}


def test_map_run_failures_are_the_unsuccessful_children_by_name(store: Store) -> None:
    run = "arn:aws:states:us-east-1:111111111111:mapRun:order/Fan:r1"
    for name, status, error, cause in [
        ("c0", "SUCCEEDED", None, None),
        ("c1", "FAILED", "E1", "one"),
        ("c2", "TIMED_OUT", None, None),
        ("c3", "ABORTED", None, "stopped"),
        ("c4", "RUNNING", None, None),
    ]:
        arn = store.create_execution(execution(name, map_run_arn=run))[0].arn
        if status != "RUNNING":
            store.commit([Commit(arn, None, status=status, stop=T0 + 1, error=error, cause=cause)])
    store.create_execution(execution("other", status="FAILED", error="X"))
    assert store.map_run_failures(run) == {
        "c1": ("FAILED", "E1", "one"),
        "c2": ("TIMED_OUT", None, None),
        "c3": ("ABORTED", None, "stopped"),
    }
    assert store.map_run_failures(run + "-none") == {}


def test_map_run_children_pending_redrive_and_redrive_filter(store: Store) -> None:
    """`pending_redrive_before`: an unsuccessful child closed before it is PENDING_REDRIVE to
    the status filter (and not its own status); `redriven` keeps those redriven or not."""
    run = "arn:aws:states:us-east-1:111111111111:mapRun:order/Fan:r1"
    for name, status, stop, redrives in [
        ("early", "FAILED", T0 + 1, 0),
        ("late", "FAILED", T0 + 20, 1),
        ("aborted", "ABORTED", T0 + 2, 2),
        ("ok", "SUCCEEDED", T0 + 3, 0),
        ("running", "RUNNING", None, 1),
    ]:
        store.create_execution(
            execution(name, map_run_arn=run, status=status, stop=stop, redrive_count=redrives)
        )

    def names(**filters: object) -> list[str]:
        page, _ = store.list_executions("", map_run_arn=run, **filters)  # type: ignore[arg-type]
        return sorted(r.name for r in page)

    redrive = T0 + 10
    assert names(status="PENDING_REDRIVE", pending_redrive_before=redrive) == ["aborted", "early"]
    assert names(status="PENDING_REDRIVE") == []
    assert names(status="FAILED", pending_redrive_before=redrive) == ["late"]
    assert names(status="FAILED") == ["early", "late"]
    assert names(status="ABORTED", pending_redrive_before=redrive) == []
    assert names(status="RUNNING", pending_redrive_before=redrive) == ["running"]
    assert names(redriven=True) == ["aborted", "late", "running"]
    assert names(redriven=False) == ["early", "ok"]
    assert names(redriven=False, status="PENDING_REDRIVE", pending_redrive_before=redrive) == [
        "early"
    ]


def _map_run(arn: str, execution_arn: str) -> MapRunRecord:
    return MapRunRecord(arn, execution_arn, "RUNNING", T0, None, 3, 0, 0, 0.0)


def _item(store: Store, arn: str, index: int) -> str | None:
    """Item `index` of the Map Run `arn`, or None: a range of one."""
    texts = store.map_run_items(arn, index, index + 1)
    return texts[0] if texts else None


def test_map_run_items_are_written_once_read_by_index_and_purged_with_the_parent(
    store: Store,
) -> None:
    parent, other = started(store, "parent", "other")
    run, kept = (f"arn:aws:states:us-east-1:111111111111:mapRun:order/Fan:{n}" for n in "ab")
    items = MapRunItems(run, ('{"id":"a"}', "[1,2]", '"c"'))
    store.commit(
        [
            Commit(parent, {"v": 1}, map_runs=(_map_run(run, parent),), map_items=(items,)),
            Commit(
                other,
                {"v": 1},
                map_runs=(_map_run(kept, other),),
                map_items=(MapRunItems(kept, ("1",)),),
            ),
        ]
    )
    assert [_item(store, run, i) for i in range(4)] == ['{"id":"a"}', "[1,2]", '"c"', None]
    assert _item(store, run + "-none", 0) is None
    assert store.map_run_items(run, 1, 9) == ["[1,2]", '"c"']
    assert store.map_run_items(run, 0, 0) == []
    # a redriven run's items replace those it started with
    store.commit([Commit(parent, {"v": 2}, map_items=(MapRunItems(run, ("{}",)),))])
    assert [_item(store, run, i) for i in range(2)] == ["{}", None]
    store.commit([Commit(parent, None, status="FAILED", stop=T0 + 10)])
    assert _item(store, run, 0) == "{}"  # kept while the parent's history is
    assert store.purge(closed_before=T0 + 20) == 1
    assert _item(store, run, 0) is None
    assert _item(store, kept, 0) == "1"


def test_map_run_children_are_read_by_arn_without_their_state(store: Store) -> None:
    run = "arn:aws:states:us-east-1:111111111111:mapRun:order/Fan:r1"
    arns = [
        store.create_execution(execution(f"c{i}", map_run_arn=run, item_count=2))[0].arn
        for i in range(3)
    ]
    store.commit([Commit(arns[0], {"step": 1}, status="SUCCEEDED", stop=T0 + 1, output=[0])])
    store.commit([Commit(arns[1], {"step": 1}, status="FAILED", stop=T0 + 2, error="E", cause="c")])
    record = store.get_execution(arns[1])
    assert record is not None
    store.update_execution(replace(record, redrive_count=1))
    other = store.create_execution(execution("other", map_run_arn=run + "-other"))[0].arn
    # a page in the asked order, any length (past the store's IN slices), unknown ARNs left out
    wanted = [arns[1], "arn:aws:states:us-east-1:111111111111:execution:none", other, arns[0]]
    found = store.map_run_children(run, wanted * 300)
    assert sorted(found) == sorted([arns[0], arns[1]])
    succeeded, failed = found[arns[0]], found[arns[1]]
    assert (succeeded.status, succeeded.output, succeeded.stop, succeeded.state) == (
        "SUCCEEDED",
        [0],
        T0 + 1,
        None,
    )
    assert (succeeded.input, succeeded.item_count, succeeded.redrive_count) == (
        {"order": "c0"},
        2,
        0,
    )
    assert (failed.status, failed.error, failed.cause, failed.redrive_count, failed.state) == (
        "FAILED",
        "E",
        "c",
        1,
        None,
    )
    assert store.map_run_children(run, [arns[2]])[arns[2]].status == "RUNNING"
    assert store.map_run_children(run, []) == {}

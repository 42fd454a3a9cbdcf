"""The durable store: the `Store` contract on SQLAlchemy 2 Core, one code path for SQLite and
PostgreSQL.

Owns: the SQLAlchemy `Engine` settings each dialect needs for the durability contract
(`create_sql_engine`), every query, and the translation between rows and records. Must never:
create or alter tables (migrations do), decide semantics (the service does), or hold state
between calls beyond the connection pool.

Transactions. Every method runs in one transaction. On SQLite, writers open it with
`BEGIN IMMEDIATE` (the database's one write lock is taken up front, so a writer never fails
half-way on a lock upgrade and the busy timeout applies) and the database runs in WAL mode with
`synchronous=FULL`, so a transaction is on disk when COMMIT returns; readers use a plain BEGIN
and never wait for writers. On PostgreSQL, a normal COMMIT is durable; the rows two workers
could race for (runnable executions in `claim`, activity tasks in `take_activity_task`) are
taken with `SELECT ... FOR UPDATE SKIP LOCKED`, and a lease is (re)written only while it is
still free, so two workers never hold one execution.

Group commit. `commit` writes a whole batch in one transaction with one bulk statement per kind
of change (engine/store/batch.py).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Final, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    Table,
    Text,
    Update,
    and_,
    any_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from sqlalchemy.pool import ConnectionPoolEntry

from engine.store import schema as t
from engine.store.base import (
    PENDING_REDRIVE,
    UNSUCCESSFUL_STATUSES,
    ActivityRecord,
    ActivityTask,
    AliasRecord,
    Commit,
    ExecutionRecord,
    InboxEvent,
    Lease,
    MachineRecord,
    MapRunRecord,
    MapRunTally,
    OutboxEvent,
    ScheduleRecord,
    StoredEvent,
    StoreError,
    StoreRefused,
    TimerRecord,
    TokenRecord,
    ValueRefused,
    VersionRecord,
    database_reason,
)
from engine.store.batch import CommitPlan, write_outbox
from engine.store.memory import OPEN_STATUSES, RUNNING, page_token, read_page_token
from engine.store.notify import CLAIM, EVENTS, Listener, notify
from engine.store.schema import encode, from_row, to_row
from engine.store.snapshots import SnapshotEncoder
from engine.store.status_events import emits_events
from engine.values import JSON

_R = TypeVar("_R")
_Keyed = TypeVar("_Keyed", TimerRecord, InboxEvent)  # a row keyed by its execution

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
"""How long a SQLite writer waits for another process's write lock before failing."""

_BEGIN: Final = "asl_begin"  # execution option: how a SQLite transaction begins

_ANY_DESTINATION: Final = "SELECT 1 FROM outbox_cursors LIMIT 1"

_JITTER: Final = random.SystemRandom()
"""Retry jitter from the OS, not from `random`'s shared generator (the user's to seed: a test
seeding it, or Hypothesis checking that nothing draws from it, must not see a store's draws)."""
_RETRIES: Final = 5
"""Times a transaction PostgreSQL aborted as a serialization failure or deadlock is rerun."""
_RETRY_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization_failure, deadlock


def _retryable(exc: BaseException | None) -> bool:
    """A database error that says: run the same transaction again (SQLSTATE 40001/40P01)."""
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) in _RETRY_SQLSTATES


def create_sql_engine(url: str) -> Engine:
    """An Engine configured for the store's durability contract on SQLite or PostgreSQL.

    `url` is a SQLAlchemy URL; `postgresql://` and `postgres://` select psycopg 3.
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # pre-ping: a connection the server dropped is replaced instead of failing a commit
    return create_engine(url, pool_pre_ping=True)


def normalize_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def writer(engine: Engine) -> Engine:
    """The same engine, its transactions opened for writing (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{_BEGIN: "IMMEDIATE"})


SQLITE_SYNCHRONOUS: Final = ("FULL", "NORMAL")
"""`synchronous` settings a SQLite store URL may ask for (`?synchronous=normal`). FULL, the
default, syncs the WAL at every COMMIT: a Standard execution's committed step survives a power
loss. NORMAL syncs at checkpoints only: a commit survives the process being killed, but the last
ones before a power loss or OS crash may be lost (SQLite's documentation)."""


def sqlite_synchronous(url: str) -> tuple[str, str]:
    """(the URL without its `synchronous` query parameter, the setting: FULL by default).

    Raises StoreError naming the parameter when it holds anything else."""
    parsed = make_url(url)
    asked = parsed.query.get("synchronous")
    if asked is None:
        return url, "FULL"
    value = asked if isinstance(asked, str) else ",".join(asked)
    if value.upper() not in SQLITE_SYNCHRONOUS:
        raise StoreError(
            f"unsupported synchronous={value!r} in the store URL: use synchronous=full (the "
            "default: every commit is on disk) or synchronous=normal (faster; the last commits "
            "before a power loss may be lost)"
        )
    bare = parsed.difference_update_query(["synchronous"])
    return bare.render_as_string(hide_password=False), value.upper()


def _sqlite_engine(url: str) -> Engine:
    url, synchronous = sqlite_synchronous(url)
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # The store's thread and a test's main thread share the pool, so connections must be
    # usable from any thread (each is used by one thread at a time).
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The driver's own transaction handling would BEGIN DEFERRED behind our back; with
        # isolation_level None it leaves BEGIN to the "begin" hook below (SQLAlchemy's
        # documented recipe for SQLite transactions).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        # WAL + FULL: durable at COMMIT (the default); NORMAL only when the URL asks for it
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _enable_wal(cursor: DBAPICursor) -> None:
    """Switch the file to WAL (a property of the file, kept once set).

    Processes opening a new file at the same moment can find it locked while another one
    switches it, and SQLite reports that at once instead of waiting on busy_timeout: retry for
    as long as busy_timeout would have waited.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SqlStore:
    """A `Store` in a SQL database reached through a SQLAlchemy Engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)
        self._postgres = engine.dialect.name == "postgresql"
        self._snapshots = SnapshotEncoder()  # re-uses the text of what a step left alone
        self.listeners: list[Listener] = []
        # Built once: SQLAlchemy then finds their compiled form in its cache by identity
        # instead of building and hashing a new statement per call (create_executions).
        self._insert_executions = (
            self._insert(t.executions)
            .on_conflict_do_nothing(index_elements=["arn"])  # type: ignore[attr-defined]
            .returning(t.executions.c.arn)
        )
        self._insert_leases = t.leases.insert()
        # Whether some destination is registered: status-change events are written only then.
        # SQLite: once seen, stays true (registrations are never removed, and writers are
        # serialised); until then each writing transaction looks (`_announcing`).
        self._destinations = False

    # -- plumbing --------------------------------------------------------------------------------
    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[Connection]:
        try:
            with (self._writer if write else self.engine).begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise StoreRefused(
                f"the store refused a conflicting write: {database_reason(exc)}"
            ) from exc
        except (DataError, StatementError) as exc:
            if isinstance(exc, DBAPIError) and not isinstance(exc, DataError):
                raise StoreError(f"the store is unavailable: {database_reason(exc)}") from exc
            # a value the database cannot hold, or one the driver could not send
            raise ValueRefused(
                "1 validation error detected: a value of the request cannot be stored "
                f"({database_reason(exc)})"
            ) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"the store is unavailable: {database_reason(exc)}") from exc

    def _among(self, column: ColumnElement[str], keys: Sequence[str]) -> ColumnElement[bool]:
        """`column IN (keys)`; on PostgreSQL `column = ANY(array)`: one parameter instead of one
        per key (a claim names 1,000 executions: SQLAlchemy renders, and PostgreSQL parses and
        plans, a 1,000-parameter list per statement)."""
        if self._postgres:
            array = bindparam(None, list(keys), type_=postgresql.ARRAY(Text), unique=True)
            return column == any_(array)
        return column.in_(_padded(keys))

    def _announcing(self, conn: Connection) -> bool:
        """Whether this write transaction must write status-change events: some destination
        is registered (`register_destination`). Asked only by a transaction with a change to
        announce. SQLite serialises writers (BEGIN IMMEDIATE), so the answer holds until the
        commit. PostgreSQL asks every time: the read holds a share lock on outbox_cursors
        until the commit, which a new registration waits for (`register_destination`), so no
        change committed after a registration goes without its event."""
        if self._destinations:
            return True
        if self._postgres:
            return conn.exec_driver_sql(_ANY_DESTINATION).first() is not None
        # the driver's own cursor: SQLAlchemy's result set-up would cost ten times the query
        driver = conn.connection.driver_connection
        assert driver is not None
        self._destinations = driver.execute(_ANY_DESTINATION).fetchone() is not None
        return self._destinations

    def _wake_others(self, conn: Connection, kind: str) -> None:
        """PostgreSQL: tell the workers of other processes (`listen`) that work appeared."""
        if self._postgres:
            notify(conn, kind)

    def listen(self, wake: Callable[[str], None]) -> Callable[[], None] | None:
        """Call `wake(kind)` (on another thread) when another process's transaction made work
        appear: `claim` (an execution runnable without a holder) or `events` (an inbox event).
        PostgreSQL only (LISTEN/NOTIFY, engine/store/notify.py); None elsewhere. Returns the
        function that stops listening."""
        if not self._postgres:
            return None
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = Listener(dsn, wake)
        self.listeners.append(listener)
        return listener.close

    def _insert(self, table: Table) -> Insert:
        """INSERT with the dialect's ON CONFLICT clauses (same API on both dialects)."""
        if self._postgres:
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _upsert(self, conn: Connection, table: Table, row: Mapping[str, object]) -> None:
        keys = [c.name for c in table.primary_key.columns]
        stmt = self._insert(table).values(**row)
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=keys,
            set_={k: stmt.excluded[k] for k in row if k not in keys},  # type: ignore[attr-defined]
        )
        conn.execute(stmt)

    def _keep_definition(self, conn: Connection, revision_id: str, definition: str) -> None:
        stmt = self._insert(t.definitions).values(revision_id=revision_id, definition=definition)
        conn.execute(stmt.on_conflict_do_nothing())  # type: ignore[attr-defined]

    def _one(self, cls: type[_R], query: Select[tuple[object, ...]]) -> _R | None:
        with self._tx() as conn:
            row = conn.execute(query).first()
        return from_row(cls, row) if row is not None else None

    def _all(self, cls: type[_R], query: Select[tuple[object, ...]]) -> list[_R]:
        with self._tx() as conn:
            return [from_row(cls, row) for row in conn.execute(query)]

    # -- machines --------------------------------------------------------------------------------
    def put_machine(self, record: MachineRecord) -> None:
        with self._tx(write=True) as conn:
            self._upsert(conn, t.machines, to_row(record, t.machines))
            self._keep_definition(conn, record.revision_id, record.definition)

    def get_machine(self, arn: str) -> MachineRecord | None:
        return self._one(MachineRecord, select(t.machines).where(t.machines.c.arn == arn))

    def find_machine(self, name: str) -> MachineRecord | None:
        return self._one(MachineRecord, select(t.machines).where(t.machines.c.name == name))

    def list_machines(self) -> list[MachineRecord]:
        return self._all(MachineRecord, select(t.machines).order_by(t.machines.c.name))

    def delete_machine(self, arn: str) -> None:
        # AWS's DeleteStateMachine removes versions and aliases too; definitions stay, since
        # executions pin their revision.
        with self._tx(write=True) as conn:
            conn.execute(delete(t.versions).where(t.versions.c.machine_arn == arn))
            conn.execute(delete(t.aliases).where(t.aliases.c.machine_arn == arn))
            conn.execute(delete(t.machines).where(t.machines.c.arn == arn))

    def get_definition(self, revision_id: str) -> str | None:
        d = t.definitions.c
        with self._tx() as conn:
            found = conn.execute(select(d.definition).where(d.revision_id == revision_id))
            text: str | None = found.scalar()
        return text

    def put_version(self, record: VersionRecord) -> None:
        with self._tx(write=True) as conn:
            # a plain INSERT: versions are immutable, so an existing one is a conflict
            conn.execute(t.versions.insert().values(**to_row(record, t.versions)))
            self._keep_definition(conn, record.revision_id, record.definition)

    def list_versions(self, machine_arn: str) -> list[VersionRecord]:
        v = t.versions.c
        query = select(t.versions).where(v.machine_arn == machine_arn).order_by(v.version)
        return self._all(VersionRecord, query)

    def delete_version(self, machine_arn: str, version: int) -> None:
        v = t.versions.c
        with self._tx(write=True) as conn:
            conn.execute(
                delete(t.versions).where(v.machine_arn == machine_arn, v.version == version)
            )

    def put_alias(self, record: AliasRecord) -> None:
        with self._tx(write=True) as conn:
            self._upsert(conn, t.aliases, to_row(record, t.aliases))

    def get_alias(self, arn: str) -> AliasRecord | None:
        return self._one(AliasRecord, select(t.aliases).where(t.aliases.c.arn == arn))

    def list_aliases(self, machine_arn: str) -> list[AliasRecord]:
        a = t.aliases.c
        query = select(t.aliases).where(a.machine_arn == machine_arn).order_by(a.name)
        return self._all(AliasRecord, query)

    def delete_alias(self, arn: str) -> None:
        with self._tx(write=True) as conn:
            conn.execute(delete(t.aliases).where(t.aliases.c.arn == arn))

    # -- executions ------------------------------------------------------------------------------
    def create_execution(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool]:
        return self.create_executions([record])[0]

    def create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None = None
    ) -> list[tuple[ExecutionRecord, bool]]:
        """Insert each execution unless its ARN exists (then: the existing one, not created).

        Same-name starts from several processes must never deadlock: each transaction inserts
        in ARN order (one lock order for every process, so no two wait on each other's keys),
        `ON CONFLICT DO NOTHING` then reads the row that won (PostgreSQL waited for its
        inserter to commit; SQLite's write lock serialised us after it), and a serialization
        failure or deadlock all the same (SQLSTATE 40001/40P01) is retried a few times.

        A batch costs three statements whatever its size, each built once per store: one
        multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING arn (the ARNs it created), one
        INSERT of their leases, one SELECT of the rows that already existed. It built and
        compiled an INSERT per row (~1 ms of the store thread per start on SQLite, most of a
        start's cost over HTTP). A repeat of an ARN within the batch is not inserted again: it
        gets the row of its first occurrence, as a later start would.
        """
        return self._create_retrying(records, lease, None)

    def create_and_commit(
        self, records: Sequence[ExecutionRecord], lease: Lease | None, commits: Sequence[Commit]
    ) -> list[tuple[ExecutionRecord, bool]]:
        """`create_executions(records, lease)` and `commit(commits)` in ONE transaction.

        The journal's thread runs a batch of starts and the batch of steps queued next to it
        this way (engine/runtime/journal.py): one SQLite commit, one fsync, instead of two.
        The rules of both hold unchanged: the executions are inserted in ARN order, the
        commits are those of executions created before, and a deadlock or serialization
        failure reruns the whole transaction.
        """
        return self._create_retrying(
            records, lease, CommitPlan(commits, self._snapshots) if commits else None
        )

    def _create_retrying(
        self, records: Sequence[ExecutionRecord], lease: Lease | None, plan: CommitPlan | None
    ) -> list[tuple[ExecutionRecord, bool]]:
        """`_create_executions`, run again on a deadlock or serialization failure."""
        for attempt in range(_RETRIES + 1):
            try:
                return self._create_executions(records, lease, plan)
            except StoreError as exc:
                if attempt == _RETRIES or not _retryable(exc.__cause__):
                    raise
                time.sleep(_JITTER.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None, plan: CommitPlan | None
    ) -> list[tuple[ExecutionRecord, bool]]:
        """One attempt: the executions in ARN order, then the plan, in one transaction."""
        with self._tx(write=True) as conn:
            results = self._create_in(conn, records, lease)
            if plan is not None:
                plan.run(conn, self._announcing)
                if plan.posted:  # a nested execution's answer or stop: its worker delivers it
                    self._wake_others(conn, EVENTS)
            return results

    def _create_in(
        self, conn: Connection, records: Sequence[ExecutionRecord], lease: Lease | None
    ) -> list[tuple[ExecutionRecord, bool]]:
        order = sorted(range(len(records)), key=lambda i: records[i].arn)
        first: dict[str, int] = {}  # each ARN's first record, in ARN order
        for index in order:
            first.setdefault(records[index].arn, index)
        if not first:
            return []
        created: set[str] = set()
        existing: dict[str, ExecutionRecord] = {}
        rows = [to_row(records[index], t.executions) for index in first.values()]
        created.update(conn.execute(self._insert_executions, rows).scalars())
        if lease is not None and created:
            leases = [
                {
                    "execution_arn": arn,
                    "worker_id": lease.worker_id,
                    "host": lease.host,
                    "pid": lease.pid,
                    "expires": lease.expires,
                }
                for arn in first
                if arn in created
            ]
            conn.execute(self._insert_leases, leases)
        elif created:
            self._wake_others(conn, CLAIM)  # runnable, and nobody holds them: a worker should
        announced = [
            records[index]
            for index in first.values()
            if records[index].arn in created and emits_events(records[index])
        ]
        if announced and self._announcing(conn):
            write_outbox(conn, [(r, r.start) for r in announced])
        taken = [arn for arn in first if arn not in created]
        if taken:
            query = select(t.executions).where(t.executions.c.arn.in_(taken))
            for row in conn.execute(query):
                stored = from_row(ExecutionRecord, row)
                existing[stored.arn] = stored
        results: list[tuple[ExecutionRecord, bool]] = []
        for index, record in enumerate(records):
            winner = first[record.arn]
            if winner == index and record.arn in created:
                results.append((record, True))
            else:
                results.append((existing.get(record.arn, records[winner]), False))
        return results

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        return self._one(ExecutionRecord, select(t.executions).where(t.executions.c.arn == arn))

    def list_executions(
        self,
        machine_arn: str,
        *,
        status: str | None = None,
        limit: int = 100,
        after: str | None = None,
        name: str | None = None,
        map_run_arn: str | None = None,
        redriven: bool | None = None,
        pending_redrive_before: float | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        e = t.executions.c
        query = select(t.executions).where(
            e.machine_arn == machine_arn if map_run_arn is None else e.map_run_arn == map_run_arn
        )
        # as base.is_pending_redrive: unsuccessful, closed before the running redrive
        waiting = and_(
            e.status.in_(sorted(UNSUCCESSFUL_STATUSES)),
            e.stop < (pending_redrive_before if pending_redrive_before is not None else -1.0),
        )
        if status == PENDING_REDRIVE:
            query = query.where(waiting)
        elif status is not None:
            query = query.where(e.status == status)
            if status in UNSUCCESSFUL_STATUSES and pending_redrive_before is not None:
                query = query.where(or_(e.stop.is_(None), e.stop >= pending_redrive_before))
        if redriven is not None:
            query = query.where(e.redrive_count > 0 if redriven else e.redrive_count == 0)
        if name is not None:
            # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not;
            # autoescape makes % and _ in the search match themselves
            query = query.where(func.lower(e.name).contains(name.lower(), autoescape=True))
        if after is not None:
            start, arn = read_page_token(after)
            query = query.where(or_(e.start < start, and_(e.start == start, e.arn < arn)))
        query = query.order_by(e.start.desc(), e.arn.desc()).limit(limit + 1)
        page = self._all(ExecutionRecord, query)
        if len(page) <= limit:
            return page, None
        del page[limit:]
        return page, page_token(page[-1].start, page[-1].arn)

    def update_execution(
        self, record: ExecutionRecord, *, changed_at: float | None = None, restart: bool = False
    ) -> None:
        row = to_row(record, t.executions)
        del row["arn"]
        stmt = update(t.executions).where(t.executions.c.arn == record.arn).values(**row)
        with self._tx(write=True) as conn:
            if conn.execute(stmt).rowcount != 1:
                raise StoreError(f"execution {record.arn} does not exist")
            if restart:
                conn.execute(delete(t.history).where(t.history.c.execution_arn == record.arn))
            if changed_at is not None and emits_events(record) and self._announcing(conn):
                write_outbox(conn, [(record, changed_at)])

    def commit(self, commits: Sequence[Commit]) -> None:
        if commits:
            plan = CommitPlan(commits, self._snapshots)
            with self._tx(write=True) as conn:
                plan.run(conn, self._announcing)
                if plan.posted:  # a nested execution's answer or stop: its worker delivers it
                    self._wake_others(conn, EVENTS)

    def get_history(
        self, arn: str, *, after_id: int = 0, limit: int = 1000, reverse: bool = False
    ) -> list[StoredEvent]:
        h = t.history.c
        query = select(t.history).where(h.execution_arn == arn)
        if reverse:
            if after_id:
                query = query.where(h.id < after_id)
            query = query.order_by(h.id.desc())
        else:
            query = query.where(h.id > after_id).order_by(h.id)
        return self._all(StoredEvent, query.limit(limit))

    # -- scheduling and leases ---------------------------------------------------------------------
    def claim(
        self, worker_id: str, host: str, pid: int, now: float, lease_seconds: float, limit: int
    ) -> list[ExecutionRecord]:
        if not self._may_claim(now):
            return []
        e, lease = t.executions.c, t.leases.c
        candidates = (
            select(e.arn)
            .select_from(t.executions.outerjoin(t.leases, lease.execution_arn == e.arn))
            .where(e.status == RUNNING, or_(lease.execution_arn.is_(None), lease.expires < now))
            .order_by(e.start, e.arn)
            .limit(limit)
            # PostgreSQL: rows another worker is claiming right now are skipped, not waited
            # for; SQLite ignores the clause (BEGIN IMMEDIATE already serialises writers).
            .with_for_update(skip_locked=True, of=t.executions)
        )
        with self._tx(write=True) as conn:
            arns = list(conn.execute(candidates).scalars())
            if not arns:
                return []
            rows = [
                {"execution_arn": a, "worker_id": worker_id, "host": host, "pid": pid} for a in arns
            ]
            stmt = self._insert(t.leases).values(expires=now + lease_seconds)
            # Take a lease over only while it is still free: a holder that renewed in the
            # meantime keeps it.
            stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=["execution_arn"],
                set_={
                    "worker_id": stmt.excluded.worker_id,  # type: ignore[attr-defined]
                    "host": stmt.excluded.host,  # type: ignore[attr-defined]
                    "pid": stmt.excluded.pid,  # type: ignore[attr-defined]
                    "expires": stmt.excluded.expires,  # type: ignore[attr-defined]
                },
                where=t.leases.c.expires < now,
            )
            conn.execute(stmt, rows)
            self._count_claims(conn, worker_id, arns)
            held = (
                select(t.executions)
                .join(t.leases, lease.execution_arn == e.arn)
                .where(self._among(e.arn, arns), lease.worker_id == worker_id)
                .order_by(e.start, e.arn)
            )
            return [from_row(ExecutionRecord, r) for r in conn.execute(held)]

    def _may_claim(self, now: float) -> bool:
        """Whether a claim can find anything: a RUNNING execution without a lease, or a lapsed
        lease. Read without the write lock, in one statement (one snapshot).

        Why: the claim's own search joins every RUNNING execution to its lease, ~6 us each on
        SQLite (0.6-1.5 s with 100,000 waiting, under the write lock), and a worker's periodic
        claim finds nothing almost every time. Counting is ~50x cheaper: a lease row exists
        only for a RUNNING execution (it is inserted with the execution or by a claim of a
        RUNNING one, and the commit that closes an execution deletes it with its timers), so
        fewer leases than RUNNING executions means some are unleased. A lease seen a moment
        early or late (PostgreSQL, another process writing) only moves the find to the next
        claim, as with SKIP LOCKED."""
        e, lease = t.executions.c, t.leases.c
        running = select(func.count()).select_from(t.executions).where(e.status == RUNNING)
        leased = select(func.count()).select_from(t.leases)
        lapsed = select(lease.execution_arn).where(lease.expires < now).exists()
        query = select(running.scalar_subquery(), leased.scalar_subquery(), lapsed)
        with self._tx() as conn:
            row = conn.execute(query).one()
        return bool(row[0] > row[1] or row[2])

    def _count_claims(self, conn: Connection, worker_id: str, arns: list[str]) -> None:
        """`claims` + 1 for the executions just leased to `worker_id` that made no progress
        (no new history event) since their previous claim; 1 (and a new mark) for the others."""
        e, lease, h = t.executions.c, t.leases.c, t.history.c
        mine = select(lease.execution_arn).where(
            self._among(lease.execution_arn, arns), lease.worker_id == worker_id
        )
        progress = (
            select(func.coalesce(func.max(h.id), 0))
            .where(h.execution_arn == e.arn)
            .scalar_subquery()
        )
        # One statement, each row written once (PostgreSQL writes a new row version per update)
        conn.execute(
            update(t.executions)
            .where(e.arn.in_(mine))
            .values(
                claims=case((e.claim_mark == progress, e.claims + 1), else_=1),
                claim_mark=progress,
            )
        )

    def leases_on_host(self, host: str) -> list[Lease]:
        query = select(t.leases).where(t.leases.c.host == host).order_by(t.leases.c.execution_arn)
        return self._all(Lease, query)

    def lease_pids_on_host(self, host: str) -> list[int]:
        lease = t.leases.c
        query = select(lease.pid).where(lease.host == host).distinct().order_by(lease.pid)
        with self._tx() as conn:
            return [int(pid) for pid in conn.execute(query).scalars()]

    def expire_leases(self, host: str, pids: Sequence[int]) -> int:
        if not pids:
            return 0
        stmt = delete(t.leases).where(t.leases.c.host == host, t.leases.c.pid.in_(list(pids)))
        with self._tx(write=True) as conn:
            freed = conn.execute(stmt).rowcount
            if freed:
                self._wake_others(conn, CLAIM)
            return freed

    def renew(self, worker_id: str, arns: Sequence[str], now: float, lease_seconds: float) -> None:
        if not arns:
            return
        with self._tx(write=True) as conn:
            for part in _slices(arns):
                held = self._held_by(worker_id, part)
                conn.execute(update(t.leases).where(held).values(expires=now + lease_seconds))

    def renew_held(
        self, worker_id: str, lapsing: Sequence[str], now: float, lease_seconds: float
    ) -> None:
        lease = t.leases.c
        # a few at a time lapse; more than a slice are left out slice by slice
        mine = and_(
            lease.worker_id == worker_id,
            *(~self._among(lease.execution_arn, part) for part in _slices(lapsing)),
        )
        with self._tx(write=True) as conn:
            conn.execute(update(t.leases).where(mine).values(expires=now + lease_seconds))

    def release(self, worker_id: str, arns: Sequence[str]) -> None:
        if not arns:
            return
        with self._tx(write=True) as conn:
            freed = 0
            for part in _slices(arns):
                mine = self._held_by(worker_id, part)
                conn.execute(self._reset_claims(mine))  # released cleanly: no drive was lost
                freed += conn.execute(delete(t.leases).where(mine)).rowcount
            if freed:
                self._wake_others(conn, CLAIM)  # runnable again: another worker takes them

    def forgive_claims(self, worker_id: str, arns: Sequence[str]) -> None:
        if not arns:
            return
        with self._tx(write=True) as conn:
            for part in _slices(arns):
                conn.execute(self._reset_claims(self._held_by(worker_id, part)))

    def _held_by(self, worker_id: str, arns: Sequence[str]) -> ColumnElement[bool]:
        """The leases `worker_id` holds among `arns` (at most `_IN_SLICE` of them: callers
        with more go slice by slice, `_slices`)."""
        lease = t.leases.c
        return and_(lease.worker_id == worker_id, self._among(lease.execution_arn, arns))

    @staticmethod
    def _reset_claims(leases: ColumnElement[bool]) -> Update:
        """Start the claims count over for the executions of the leases selected."""
        held = select(t.leases.c.execution_arn).where(leases)
        return (
            update(t.executions)
            .where(t.executions.c.arn.in_(held))
            .values(claims=0, claim_mark=None)
        )

    def timers_for(self, arn: str) -> list[TimerRecord]:
        c = t.timers.c
        query = select(t.timers).where(c.execution_arn == arn).order_by(c.due, c.timer_id)
        return self._all(TimerRecord, query)

    def timers_of(self, arns: Sequence[str]) -> dict[str, list[TimerRecord]]:
        c = t.timers.c
        return self._by_execution(TimerRecord, t.timers, arns, c.execution_arn, c.due, c.timer_id)

    def _by_execution(
        self, cls: type[_Keyed], table: Table, arns: Sequence[str], *order: ColumnElement[object]
    ) -> dict[str, list[_Keyed]]:
        """The rows of `table` of each execution among `arns`, as `cls`, in `order`, grouped
        by execution (those without any left out): one read, slice by slice."""
        found: dict[str, list[_Keyed]] = {}
        with self._tx() as conn:
            for part in _slices(arns):
                query = select(table).where(self._among(table.c.execution_arn, part))
                for row in conn.execute(query.order_by(*order)):
                    record = from_row(cls, row)
                    found.setdefault(record.execution_arn, []).append(record)
        return found

    def post_event(self, execution_arn: str, payload: JSON) -> int:
        stmt = t.inbox.insert().values(execution_arn=execution_arn, payload=encode(payload))
        with self._tx(write=True) as conn:
            key = conn.execute(stmt).inserted_primary_key
            self._wake_others(conn, EVENTS)
        assert key is not None
        return int(key[0])

    def pending_events(self, execution_arn: str) -> list[InboxEvent]:
        c = t.inbox.c
        query = select(t.inbox).where(c.execution_arn == execution_arn).order_by(c.seq)
        return self._all(InboxEvent, query)

    def pending_events_of(self, arns: Sequence[str]) -> dict[str, list[InboxEvent]]:
        return self._by_execution(InboxEvent, t.inbox, arns, t.inbox.c.seq)

    def executions_with_events(self) -> list[str]:
        c = t.inbox.c
        query = select(c.execution_arn).group_by(c.execution_arn).order_by(func.min(c.seq))
        with self._tx() as conn:
            return list(conn.execute(query).scalars())

    def find_token(self, token: str) -> TokenRecord | None:
        return self._one(TokenRecord, select(t.tokens).where(t.tokens.c.token == token))

    def post_callback(self, token: str, payload: JSON) -> TokenRecord | None:
        c = t.tokens.c
        with self._tx(write=True) as conn:
            row = conn.execute(select(t.tokens).where(c.token == token)).first()
            if row is None:
                return None
            found = from_row(TokenRecord, row)
            if found.status != "OPEN":
                return found
            # The status test in the UPDATE is what makes one of two racing callbacks lose
            # (PostgreSQL re-checks it after the winner's commit).
            answered = conn.execute(
                update(t.tokens)
                .where(c.token == token, c.status == "OPEN")
                .values(status="ANSWERED")
            )
            if answered.rowcount != 1:
                return replace(found, status="ANSWERED")
            conn.execute(
                t.inbox.insert().values(execution_arn=found.execution_arn, payload=encode(payload))
            )
            self._wake_others(conn, EVENTS)
            return found

    # -- activities ------------------------------------------------------------------------------
    def put_activity(self, record: ActivityRecord) -> None:
        with self._tx(write=True) as conn:
            self._upsert(conn, t.activities, to_row(record, t.activities))

    def get_activity(self, arn: str) -> ActivityRecord | None:
        return self._one(ActivityRecord, select(t.activities).where(t.activities.c.arn == arn))

    def list_activities(self) -> list[ActivityRecord]:
        return self._all(ActivityRecord, select(t.activities).order_by(t.activities.c.name))

    def delete_activity(self, arn: str) -> None:
        with self._tx(write=True) as conn:
            conn.execute(delete(t.activities).where(t.activities.c.arn == arn))

    def take_activity_task(self, activity_arn: str, worker_name: str | None) -> ActivityTask | None:
        a = t.activity_tasks.c
        oldest = (
            select(t.activity_tasks)
            .where(a.activity_arn == activity_arn, a.taken.is_(False))
            .order_by(a.seq)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self._tx(write=True) as conn:
            r = conn.execute(oldest).first()
            if r is None:
                return None
            conn.execute(
                update(t.activity_tasks)
                .where(a.seq == r.seq)
                .values(taken=True, worker_name=worker_name)
            )
        return replace(from_row(ActivityTask, r), worker_name=worker_name)

    # -- status-change events --------------------------------------------------------------------
    def outbox_after(self, seq: int, limit: int) -> list[OutboxEvent]:
        o = t.outbox.c
        query = select(t.outbox).where(o.seq > seq).order_by(o.seq).limit(limit)
        return self._all(OutboxEvent, query)

    def register_destination(self, destination: str) -> int:
        c = t.outbox_cursors.c
        mine = select(c.seq).where(c.destination == destination)
        with self._tx(write=True) as conn:
            if self._postgres:
                # Wait until every transaction that found no destination (`_announcing` holds
                # its share lock to the end) has committed, and hold back the next ones until
                # this commits: then the outbox's end below is final, and every later change
                # sees this destination. Taken first: two registrations never deadlock.
                conn.exec_driver_sql("LOCK TABLE outbox_cursors IN ACCESS EXCLUSIVE MODE")
            found = conn.execute(mine).scalar()
            if found is None:
                end = conn.execute(select(func.coalesce(func.max(t.outbox.c.seq), 0))).scalar()
                stmt = self._insert(t.outbox_cursors).values(destination=destination, seq=end)
                conn.execute(stmt.on_conflict_do_nothing(index_elements=["destination"]))  # type: ignore[attr-defined]
                found = conn.execute(mine).scalar()
        if not self._postgres:
            self._destinations = True
        return int(found) if found is not None else 0

    def outbox_cursor(self, destination: str) -> int:
        c = t.outbox_cursors.c
        with self._tx() as conn:
            found = conn.execute(select(c.seq).where(c.destination == destination)).scalar()
        return int(found) if found is not None else 0

    def set_outbox_cursor(self, destination: str, seq: int) -> None:
        stmt = self._insert(t.outbox_cursors).values(destination=destination, seq=seq)
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["destination"],
            set_={"seq": func.greatest(t.outbox_cursors.c.seq, stmt.excluded.seq)}  # type: ignore[attr-defined]
            if self._postgres
            else {"seq": func.max(t.outbox_cursors.c.seq, stmt.excluded.seq)},  # type: ignore[attr-defined]
        )
        with self._tx(write=True) as conn:
            conn.execute(stmt)

    def lease_destination(self, destination: str, owner: str, now: float, seconds: float) -> bool:
        c = t.outbox_cursors.c
        stmt = self._insert(t.outbox_cursors).values(
            destination=destination, seq=0, owner=owner, expires=now + seconds
        )
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["destination"],
            set_={"owner": owner, "expires": now + seconds},
            where=or_(c.owner.is_(None), c.owner == owner, c.expires < now),
        ).returning(c.destination)
        with self._tx(write=True) as conn:
            return conn.execute(stmt).scalar() is not None

    # -- schedules -------------------------------------------------------------------------------
    def create_schedule(self, record: ScheduleRecord) -> bool:
        stmt = self._insert(t.schedules).values(**to_row(record, t.schedules))
        stmt = stmt.on_conflict_do_nothing(index_elements=["name"])  # type: ignore[attr-defined]
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here
        stmt = stmt.returning(t.schedules.c.name)
        with self._tx(write=True) as conn:
            return conn.execute(stmt).scalar() is not None

    def get_schedule(self, name: str) -> ScheduleRecord | None:
        return self._one(ScheduleRecord, select(t.schedules).where(t.schedules.c.name == name))

    def list_schedules(self) -> list[ScheduleRecord]:
        return self._all(ScheduleRecord, select(t.schedules).order_by(t.schedules.c.name))

    def update_schedule(self, record: ScheduleRecord) -> bool:
        row = to_row(record, t.schedules)
        del row["name"]
        stmt = update(t.schedules).where(t.schedules.c.name == record.name).values(**row)
        with self._tx(write=True) as conn:
            return bool(conn.execute(stmt).rowcount == 1)

    def delete_schedule(self, name: str) -> bool:
        with self._tx(write=True) as conn:
            gone = conn.execute(delete(t.schedules).where(t.schedules.c.name == name))
            return bool(gone.rowcount == 1)

    def due_schedules(self, now: float) -> list[ScheduleRecord]:
        s = t.schedules.c
        query = (
            select(t.schedules)
            .where(s.schedule_state == "ENABLED", s.next_fire.is_not(None), s.next_fire <= now)
            .order_by(s.name)
        )
        return self._all(ScheduleRecord, query)

    def advance_schedule(
        self, name: str, expected: float, next_fire: float | None, fired: float
    ) -> bool:
        s = t.schedules.c
        stmt = (
            update(t.schedules)
            .where(s.name == name, s.schedule_state == "ENABLED", s.next_fire == expected)
            .values(next_fire=next_fire, last_fire=fired)
        )
        with self._tx(write=True) as conn:
            return bool(conn.execute(stmt).rowcount == 1)

    # -- retention -------------------------------------------------------------------------------
    # -- Map Runs --------------------------------------------------------------------------------
    def get_map_run(self, arn: str) -> MapRunRecord | None:
        return self._one(MapRunRecord, select(t.map_runs).where(t.map_runs.c.arn == arn))

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        m = t.map_runs.c
        query = (
            select(t.map_runs)
            .where(m.execution_arn == execution_arn)
            .order_by(m.start.desc(), m.arn.desc())
        )
        return self._all(MapRunRecord, query)

    def put_map_run(self, record: MapRunRecord) -> None:
        with self._tx(write=True) as conn:
            self._upsert(conn, t.map_runs, to_row(record, t.map_runs))

    def map_run_tallies(
        self, arn: str, redriven: float | None, expired: float, max_redrives: int
    ) -> list[MapRunTally]:
        e = t.executions.c
        unsuccessful = e.status.in_(sorted(UNSUCCESSFUL_STATUSES))
        # integers, not booleans: grouped and compared the same on SQLite and PostgreSQL
        stale = case(
            (and_(unsuccessful, e.stop < (redriven if redriven is not None else -1.0)), 1),
            else_=0,
        )
        stuck = case(
            (
                and_(
                    unsuccessful,
                    e.machine_type == "STANDARD",
                    or_(e.stop < expired, e.redrive_count >= max_redrives),
                ),
                1,
            ),
            else_=0,
        )
        query = (
            select(e.status, stale, stuck, func.count(), func.sum(func.coalesce(e.item_count, 1)))
            .where(e.map_run_arn == arn)
            .group_by(e.status, stale, stuck)
        )
        with self._tx() as conn:
            return [
                MapRunTally(str(status), bool(is_stale), bool(is_stuck), int(n), int(items))
                for status, is_stale, is_stuck, n, items in conn.execute(query)
            ]

    def map_run_outputs(self, arn: str) -> dict[str, JSON]:
        e = t.executions.c
        query = select(e.name, e.output).where(e.map_run_arn == arn, e.status == "SUCCEEDED")
        with self._tx() as conn:
            return {str(name): json.loads(output) for name, output in conn.execute(query)}

    def map_run_failures(self, arn: str) -> dict[str, tuple[str, str | None, str | None]]:
        e = t.executions.c
        query = select(e.name, e.status, e.error, e.cause).where(
            e.map_run_arn == arn, e.status.in_(sorted(UNSUCCESSFUL_STATUSES))
        )
        with self._tx() as conn:
            return {
                str(name): (str(status), error, cause)
                for name, status, error, cause in conn.execute(query)
            }

    def map_run_items(self, arn: str, start: int, stop: int) -> list[str]:
        i = t.map_run_items.c
        query = (
            select(i.input)
            .where(i.map_run_arn == arn, i.idx >= start, i.idx < stop)
            .order_by(i.idx)
        )
        with self._tx() as conn:
            return [str(text) for text in conn.execute(query).scalars()]

    def map_run_children(self, map_run_arn: str, arns: Sequence[str]) -> dict[str, ExecutionRecord]:
        e = t.executions.c
        found: dict[str, ExecutionRecord] = {}
        with self._tx() as conn:
            for part in _slices(arns):
                where = and_(self._among(e.arn, part), e.map_run_arn == map_run_arn)
                for record in t.records_without_state(conn, where):
                    found[record.arn] = record
        return found

    def purge(self, closed_before: float) -> int:
        e = t.executions.c
        closed = select(e.arn).where(
            e.status.not_in(sorted(OPEN_STATUSES)), e.stop.is_not(None), e.stop < closed_before
        )
        with self._tx(write=True) as conn:
            conn.execute(delete(t.outbox).where(t.outbox.c.time < closed_before))
            # before their Map Runs' rows, which say whose they are
            runs = select(t.map_runs.c.arn).where(t.map_runs.c.execution_arn.in_(closed))
            items = t.map_run_items
            conn.execute(delete(items).where(items.c.map_run_arn.in_(runs)))
            for table in _EXECUTION_CHILDREN:
                conn.execute(delete(table).where(table.c.execution_arn.in_(closed)))
            return conn.execute(delete(t.executions).where(e.arn.in_(closed))).rowcount

    def close(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()
        self.engine.dispose()


_IN_SLICE: Final = 500
"""Keys per `IN (...)` list: a statement over more (a worker releasing or renewing 100,000
leases) goes slice by slice, well inside every SQLite build's bound-parameter limit (32,766 by
default; 250,000 on some)."""


def _padded(keys: Sequence[str]) -> list[str]:
    """`keys` padded with repeats of the last to the next power of two (16 at least), which
    IN ignores: SQLite's driver keeps each statement text it prepared (128 per connection), so
    lists of every length would each leave one behind (one IN of 50,000 renewed leases: ~14 MiB
    each time)."""
    size = 16
    while size < len(keys):
        size *= 2
    return [*keys, *[keys[-1]] * (size - len(keys))] if keys else []


def _slices(keys: Sequence[str]) -> Iterator[list[str]]:
    """`keys` in lists of at most `_IN_SLICE`."""
    for begin in range(0, len(keys), _IN_SLICE):
        yield list(keys[begin : begin + _IN_SLICE])


_EXECUTION_CHILDREN: Final = (
    t.map_runs,
    t.history,
    t.timers,
    t.tokens,
    t.inbox,
    t.leases,
    t.activity_tasks,
)

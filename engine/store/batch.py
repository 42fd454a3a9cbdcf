"""Group commit for the SQL store: a batch of `Commit`s reduced to a few bulk statements.

Owns: the order in which a batch's changes are written and their reduction to net effects, and
the two hot-path statements (snapshots, history events) written per dialect for speed. Must
never: open or end a transaction (the caller runs `CommitPlan.run` inside its own) or decide
what a commit means (base.py's `Commit` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy import (
    BindParameter,
    Connection,
    Executable,
    and_,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from engine.store import schema as t
from engine.store.base import (
    ActivityTask,
    Commit,
    ExecutionRecord,
    StoreError,
    TimerRecord,
    TokenRecord,
)
from engine.store.schema import encode, storable_text, to_row
from engine.store.snapshots import SnapshotEncoder
from engine.store.status_events import emits_events, status_change_event
from engine.values import JSON

# executemany statements of `commit`; bind names differ from column names, as SQLAlchemy asks
_CLOSE_FIELDS: Final[dict[str, BindParameter[object]]] = {
    "status": bindparam("b_status"),
    "stop": bindparam("b_stop"),
    "output": bindparam("b_output"),
    "error": bindparam("b_error"),
    "cause": bindparam("b_cause"),
}
_CLOSE: Final = (
    update(t.executions).where(t.executions.c.arn == bindparam("b_arn")).values(**_CLOSE_FIELDS)
)
_CLOSE_WITH_STATE: Final = _CLOSE.values(state=bindparam("b_state"))
_DELETE_TIMER: Final = delete(t.timers).where(
    t.timers.c.execution_arn == bindparam("b_arn"), t.timers.c.timer_id == bindparam("b_id")
)
_DELETE_TOKEN: Final = delete(t.tokens).where(t.tokens.c.token == bindparam("b_token"))
_DELETE_TASK: Final = delete(t.activity_tasks).where(
    t.activity_tasks.c.token == bindparam("b_token")
)
_CONSUME: Final = delete(t.inbox).where(
    t.inbox.c.seq == bindparam("b_seq"), t.inbox.c.execution_arn == bindparam("b_arn")
)

# The two statements every transition runs (its snapshot, its history events) bypass
# SQLAlchemy's per-row parameter processing, which would cost more than the database itself:
# SQLite gets a native executemany, PostgreSQL one statement over arrays (unnest), instead of
# a round trip per row. `%b` sends the arrays in binary: no per-element quoting of JSON text.
_SQLITE_SNAPSHOTS: Final = "UPDATE executions SET state = ? WHERE arn = ?"
_SQLITE_EVENTS: Final = (
    'INSERT INTO history (execution_arn, id, previous_event_id, "timestamp", type, details) '
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_POSTGRES_SNAPSHOTS: Final = (
    "UPDATE executions SET state = v.state "
    "FROM unnest(%b::text[], %b::text[]) AS v(arn, state) WHERE executions.arn = v.arn"
)
# PostgreSQL takes history rows by COPY: half the time of an INSERT over arrays (measured,
# 120,000 rows: 1.12 s by INSERT ... unnest, 0.61 s by COPY, driver's Python included).
_POSTGRES_EVENTS: Final = (
    'COPY history (execution_arn, id, previous_event_id, "timestamp", type, details) FROM STDIN'
)
# Closes on PostgreSQL: one statement over arrays instead of a round trip per row.
_POSTGRES_CLOSE: Final = (
    "UPDATE executions SET status = v.status, stop = v.stop, output = v.output, "
    "error = v.error, cause = v.cause{set_state} FROM unnest(%b::text[], %b::text[], "
    "%b::float8[], %b::text[], %b::text[], %b::text[]{state_array}) "
    "AS v(arn, status, stop, output, error, cause{state_column}) WHERE executions.arn = v.arn"
)
_POSTGRES_CLOSES: Final = (
    _POSTGRES_CLOSE.format(set_state="", state_array="", state_column=""),
    _POSTGRES_CLOSE.format(
        set_state=", state = v.state", state_array=", %b::text[]", state_column=", state"
    ),
)
_CLOSE_KEYS: Final = ("b_arn", "b_status", "b_stop", "b_output", "b_error", "b_cause")


def _write_snapshots(conn: Connection, states: dict[str, str]) -> int:
    """Store each execution's newest snapshot; returns how many executions were found."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(
            _POSTGRES_SNAPSHOTS, (list(states), list(states.values()))
        ).rowcount
    rows = [(state, arn) for arn, state in states.items()]
    return conn.exec_driver_sql(_SQLITE_SNAPSHOTS, rows).rowcount


def _write_events(conn: Connection, columns: tuple[list[object], ...]) -> None:
    rows = zip(*columns, strict=True)
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(_SQLITE_EVENTS, list(rows))
        return
    import psycopg  # PostgreSQL's driver: present whenever this dialect is

    driver = conn.connection.dbapi_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor().copy(_POSTGRES_EVENTS) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:  # as SQLAlchemy wraps its statements' errors, for `_tx`
        raise DBAPIError.instance(_POSTGRES_EVENTS, None, exc, psycopg.Error) from exc


_RUNTIME_TABLES: Final = (t.timers, t.tokens, t.leases, t.activity_tasks, t.inbox)
_POSTGRES_DROPS: Final = tuple(
    f"DELETE FROM {table.name} WHERE execution_arn = ANY(%b::text[])"  # noqa: S608 (our tables)
    for table in _RUNTIME_TABLES
)
_SQLITE_DROPS: Final = tuple(
    f"DELETE FROM {table.name} WHERE execution_arn = ?"  # noqa: S608 (our tables)
    for table in _RUNTIME_TABLES
)


def _drop_runtime_rows(conn: Connection, closed: list[str]) -> None:
    """Delete what closed executions no longer need: timers, tokens, leases, activity tasks
    and inbox events. PostgreSQL gets the keys as one array (`= ANY`), SQLite a native
    executemany, not a list of 1,000 bound parameters compiled per table."""
    if conn.dialect.name == "postgresql":
        for statement in _POSTGRES_DROPS:
            conn.exec_driver_sql(statement, (closed,))
        return
    keys = [(arn,) for arn in closed]
    for statement in _SQLITE_DROPS:
        conn.exec_driver_sql(statement, keys)


def _write_closes(conn: Connection, rows: list[dict[str, object]], with_state: bool) -> int:
    """Close executions (status, stop, output, error, cause; and state); returns how many
    were found."""
    if conn.dialect.name != "postgresql":
        return conn.execute(_CLOSE_WITH_STATE if with_state else _CLOSE, rows).rowcount
    keys = (*_CLOSE_KEYS, "b_state") if with_state else _CLOSE_KEYS
    arrays = tuple([row[key] for row in rows] for key in keys)
    return conn.exec_driver_sql(_POSTGRES_CLOSES[with_state], arrays).rowcount


class CommitPlan:
    """A batch of commits reduced to one bulk statement per kind of change, in apply order.

    Snapshots keep the last one per execution; closes apply in batch order; timers, tokens and
    activity tasks are reduced to their net effect (a timer started and cancelled within the
    batch is never written). The result equals applying the commits one by one.
    """

    def __init__(self, commits: Sequence[Commit], snapshots: SnapshotEncoder | None = None) -> None:
        self.states: dict[str, str] = {}
        self.closes: list[dict[str, object]] = []
        self.closes_with_state: list[dict[str, object]] = []
        self.events: tuple[list[object], ...] = ([], [], [], [], [], [])
        self.consumed: list[dict[str, object]] = []
        # applied last, as Store.post_callback applies one: the parent's token must be OPEN
        self.callbacks: list[tuple[str, str, str]] = []
        self.child_stops: list[tuple[str, str]] = []
        self.map_runs: dict[str, dict[str, object]] = {}  # the last row per Map Run
        self.map_items: dict[str, tuple[str, ...]] = {}  # the last items per Map Run
        arns, ids, previous, stamps, types, details = self.events
        timers: dict[tuple[str, str], TimerRecord | None] = {}
        tokens: dict[str, TokenRecord | None] = {}
        tasks: dict[str, ActivityTask | None] = {}
        last: dict[str, JSON] = {}  # encoded once, the last: a batch holds many steps
        for c in commits:
            arn = c.execution_arn
            if c.status is None:
                if c.state is not None:
                    last[arn] = c.state
            else:
                self._close(c)
            for ev in c.events:
                if ev.execution_arn != arn:
                    raise StoreError(f"event {ev.id} of {ev.execution_arn} in a commit of {arn}")
                arns.append(arn)
                ids.append(ev.id)
                previous.append(ev.previous_event_id)
                stamps.append(ev.timestamp)
                types.append(ev.type)
                details.append(encode(ev.details))
            # adds first, then cancels: a timer started and cancelled by one step is gone
            for timer in c.timers_added:
                timers[arn, timer.timer_id] = timer
            for timer_id in c.timers_cancelled:
                timers[arn, timer_id] = None
            for token in c.tokens_added:
                tokens[token.token] = token
            for task in c.activity_tasks:
                tasks[task.token] = task
            for token_id in c.tokens_removed:
                tokens[token_id] = None
                tasks[token_id] = None
            for tombstone in c.tokens_timed_out:
                tokens[tombstone.token] = tombstone
                tasks[tombstone.token] = None
            self.consumed.extend({"b_seq": s, "b_arn": arn} for s in c.inbox_consumed)
            self.callbacks.extend(
                (cb.token, cb.parent_arn, encode(cb.payload)) for cb in c.callbacks
            )
            self.child_stops.extend((stop.token, encode(stop.payload)) for stop in c.child_stops)
            for run in c.map_runs:
                self.map_runs[run.arn] = to_row(run, t.map_runs)
            for items in c.map_items:
                self.map_items[items.arn] = items.inputs
            if c.status is not None:
                # closing drops the execution's runtime rows, including those this batch added
                for key in [k for k in timers if k[0] == arn]:
                    del timers[key]
                for token_id in [k for k, v in tokens.items() if v and v.execution_arn == arn]:
                    del tokens[token_id]
                for token_id in [k for k, v in tasks.items() if v and v.execution_arn == arn]:
                    del tasks[token_id]
        self.closed = sorted({str(row["b_arn"]) for row in self.closes + self.closes_with_state})
        encoder = snapshots if snapshots is not None else SnapshotEncoder()
        self.states = {arn: encoder.encode(arn, state) for arn, state in last.items()}
        for arn in self.closed:
            encoder.forget(arn)
        self.posted = False  # set by `run`: whether nested executions' messages were queued
        # Executions the batch writes events for and neither updates nor closes: checked to
        # exist before their events are written (history has no foreign key: migration 0005).
        written = set(self.states) | set(self.closed)
        self.events_only = sorted({str(arn) for arn in arns} - written)
        self.replaces: list[tuple[Executable, list[dict[str, object]]]] = [
            # the net effect: drop every key the batch touched, then write the survivors
            (_DELETE_TIMER, [{"b_arn": a, "b_id": i} for a, i in timers]),
            (_DELETE_TOKEN, [{"b_token": k} for k in tokens]),
            (_DELETE_TASK, [{"b_token": k} for k in tasks]),
            (t.timers.insert(), [to_row(v, t.timers) for v in timers.values() if v]),
            (t.tokens.insert(), [to_row(v, t.tokens) for v in tokens.values() if v]),
            (
                t.activity_tasks.insert(),
                [{**to_row(v, t.activity_tasks), "taken": False} for v in tasks.values() if v],
            ),
        ]

    def _close(self, c: Commit) -> None:
        row: dict[str, object] = {
            "b_arn": c.execution_arn,
            "b_status": c.status,
            "b_stop": c.stop,
            "b_output": encode(c.output),
            "b_error": storable_text(c.error),
            "b_cause": storable_text(c.cause),
        }
        if c.state is None:
            self.closes.append(row)
        else:
            row["b_state"] = encode(c.state)
            self.closes_with_state.append(row)

    def run(self, conn: Connection, announcing: Callable[[Connection], bool]) -> None:
        """Write the batch in the caller's transaction; `announcing(conn)` says whether the
        closes' status-change events are wanted (some destination is registered)."""
        if self.events_only and len(_known(conn, self.events_only)) != len(self.events_only):
            self._unknown_execution(conn)
        found = _write_snapshots(conn, self.states) if self.states else 0
        if self.events[0]:
            _write_events(conn, self.events)
        if self.consumed:
            conn.execute(_CONSUME, self.consumed)
        for with_state, rows in ((False, self.closes), (True, self.closes_with_state)):
            if rows:
                found += _write_closes(conn, rows, with_state)
        if found != len(self.states) + len(self.closes) + len(self.closes_with_state):
            self._unknown_execution(conn)
        if self.closed:
            _drop_runtime_rows(conn, self.closed)
            if announcing(conn):
                _announce_closes(conn, self.closed)
        for replace_stmt, rows in self.replaces:
            if rows:
                conn.execute(replace_stmt, rows)
        if self.map_runs:  # upserts, portable: replace each row
            arns = sorted(self.map_runs)
            conn.execute(delete(t.map_runs).where(t.map_runs.c.arn.in_(arns)))
            conn.execute(t.map_runs.insert(), [self.map_runs[a] for a in arns])
        if self.map_items:  # a redriven run's items replace those it started with
            arns = sorted(self.map_items)
            items = t.map_run_items
            conn.execute(delete(items).where(items.c.map_run_arn.in_(arns)))
            rows = [
                {"map_run_arn": arn, "idx": index, "input": text}
                for arn in arns
                for index, text in enumerate(self.map_items[arn])
            ]
            if rows:
                conn.execute(items.insert(), rows)
        self.posted = _post_nested(conn, self.callbacks, self.child_stops)

    def _unknown_execution(self, conn: Connection) -> None:
        named = set(self.states) | set(self.closed) | set(self.events_only)
        unknown = named - _known(conn, sorted(named))
        raise StoreError(f"commit for unknown execution {min(unknown, default='?')}")


def _announce_closes(conn: Connection, closed: list[str]) -> None:
    """The status-change events of the batch's closes, from the rows just written (a close
    carries no name, input or start: the row has them); Standard executions only."""
    e = t.executions.c
    records = t.records_without_state(conn, and_(e.arn.in_(closed), e.machine_type == "STANDARD"))
    write_outbox(conn, [(r, r.stop if r.stop is not None else r.start) for r in records])


def write_outbox(conn: Connection, changes: Sequence[tuple[ExecutionRecord, float]]) -> None:
    """Append the status-change event of each (record, time of the change) to the outbox."""
    rows = [
        {
            "execution_arn": record.arn,
            "time": changed_at,
            "event": encode(status_change_event(record, changed_at)),
        }
        for record, changed_at in changes
        if emits_events(record)
    ]
    if rows:
        conn.execute(t.outbox.insert(), rows)


def _post_nested(
    conn: Connection, callbacks: list[tuple[str, str, str]], stops: list[tuple[str, str]]
) -> bool:
    """Nested executions' messages of a batch: a closing child's answer to its parent's token
    (once: only while the token is OPEN, as `post_callback`), and a parent's stop of its
    RUNNING child (found by the token). True when something was queued."""
    posted = False
    tokens = t.tokens.c
    for token, parent_arn, payload in callbacks:
        answered = conn.execute(
            update(t.tokens)
            .where(tokens.token == token, tokens.status == "OPEN")
            .values(status="ANSWERED")
        )
        if answered.rowcount == 1:
            conn.execute(t.inbox.insert().values(execution_arn=parent_arn, payload=payload))
            posted = True
    e = t.executions.c
    for token, payload in stops:
        children = conn.execute(
            select(e.arn).where(e.parent_token == token, e.status == "RUNNING")
        ).scalars()
        for child in list(children):
            conn.execute(t.inbox.insert().values(execution_arn=child, payload=payload))
            posted = True
    return posted


def _known(conn: Connection, arns: list[str]) -> set[str]:
    """Those of `arns` that are executions in the store."""
    e = t.executions.c
    return set(conn.execute(select(e.arn).where(e.arn.in_(arns))).scalars())

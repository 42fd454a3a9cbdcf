"""The SQL tables of the durable store, as SQLAlchemy Core metadata.

Owns: table and index definitions shared by the SQL store (queries) and the migration test
(the migrated database must equal this metadata), and the mapping between rows and the
records of base.py (`to_row`, `from_row`: columns are named after record fields). Must never:
create tables at runtime (Alembic's versioned migrations in engine/store/migrations/ do that; a
change here needs a new revision).

Conventions: JSON values are stored as text (json.dumps, key order kept, identical on SQLite and
PostgreSQL); times are float epoch seconds (DOUBLE PRECISION); every row that belongs to an
execution references it, so a commit for an unknown execution fails instead of leaving orphans.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Final, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    Select,
    Table,
    Text,
    false,
    literal,
    select,
)
from sqlalchemy import text as sql_text

from engine.store.base import AliasRecord, ExecutionRecord
from engine.values import compact_encoder

# Named constraints: later migrations (SQLite's batch mode in particular) address them by name.
metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

_ARN = Text  # strings are TEXT: lengths are AWS limits the service checks, not the schema's
_SEQ = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only
_EXECUTION_FK = "executions.arn"

machines = Table(
    "machines",
    metadata,
    Column("arn", _ARN, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("machine_type", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("revision_id", Text, nullable=False),
    Column("role_arn", _ARN, nullable=False),
    Column("created", Double, nullable=False),
    Column("updated", Double, nullable=False),
    Column("logging_level", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),  # JSON object
    Column("include_execution_data", Boolean, nullable=False, server_default=false()),
    Column("log_destinations", Text, nullable=False, server_default="[]"),  # JSON array
    Column("tracing_enabled", Boolean, nullable=False, server_default=false()),
)

# Every definition revision ever stored, so an execution can always load the one it pinned.
definitions = Table(
    "definitions",
    metadata,
    Column("revision_id", Text, primary_key=True),
    Column("definition", Text, nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("machine_arn", _ARN, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("revision_id", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created", Double, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column("arn", _ARN, primary_key=True),
    Column("machine_arn", _ARN, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("routing", Text, nullable=False),  # JSON [[version, weight], ...]
    Column("description", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("updated", Double, nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("arn", _ARN, primary_key=True),
    Column("machine_arn", _ARN, nullable=False),
    Column("revision_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("machine_type", Text, nullable=False),
    Column("input", Text, nullable=False),  # JSON
    Column("status", Text, nullable=False),
    Column("start", Double, nullable=False),
    Column("stop", Double),
    Column("output", Text, nullable=False),  # JSON
    Column("error", Text),
    Column("cause", Text),
    Column("state", Text, nullable=False),  # JSON: codec.state_to_json, or null
    Column("sync", Boolean, nullable=False),
    Column("redrive_count", Integer, nullable=False),
    Column("version_arn", _ARN),
    Column("alias_arn", _ARN),
    Column("trace_header", Text),
    Column("test_case", Text),  # Step Functions Local test case selecting mocked responses
    # ExecutionRecord.claims, and the newest history event id at the last claim (progress)
    Column("claims", Integer, nullable=False, server_default="0"),
    Column("claim_mark", Integer),
    # A child of a parent's startExecution Task (migration 0006): whom it answers when it
    # closes (`.sync`), and how a stop of the parent's Task finds it (by the token).
    Column("parent_arn", _ARN),
    Column("parent_token", Text),
    Column("parent_pattern", Text),
    # list_executions pages newest first per machine; claim scans RUNNING oldest first;
    # purge finds closed executions by stop time.
    Index("ix_executions_machine_start", "machine_arn", "start", "arn"),
    Index("ix_executions_status_start", "status", "start"),
    Index("ix_executions_stop", "stop"),
    Index("ix_executions_parent_token", "parent_token"),
    # A Distributed Map's child execution (migration 0007): its Map Run, counted by status;
    # indexed for children only (migration 0012: other executions wrote entries nobody reads).
    Column("map_run_arn", _ARN),
    Index(
        "ix_executions_map_run",
        "map_run_arn",
        "status",
        sqlite_where=sql_text("map_run_arn IS NOT NULL"),
        postgresql_where=sql_text("map_run_arn IS NOT NULL"),
    ),
    # The items it ran: one, or its ItemBatcher batch's (migration 0011).
    Column("item_count", Integer),
)

# A Distributed Map's Map Runs (migration 0007; store/base.py MapRunRecord), written by the
# parent's commits; their counts are the child executions' (executions.map_run_arn).
map_runs = Table(
    "map_runs",
    metadata,
    Column("arn", _ARN, primary_key=True),
    Column("execution_arn", _ARN, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("start", Double, nullable=False),
    Column("stop", Double),
    Column("total_items", Integer, nullable=False),
    Column("max_concurrency", Integer, nullable=False),
    Column("tolerated_failure_count", Integer, nullable=False),
    Column("tolerated_failure_percentage", Double, nullable=False),
    Column("redrive_count", Integer, nullable=False),
    Column("redrive_date", Double),
    # Child executions in all (batches with an ItemBatcher), and whether the run's results
    # were written (migration 0011): DescribeMapRun's executionCounts total and resultsWritten.
    Column("total_executions", Integer, nullable=False, server_default="0"),
    Column("results_written", Boolean, nullable=False, server_default=false()),
)

# The inputs of a Map Run's child runs (migration 0013; store/base.py MapRunItems): written
# once when the run starts, read by each child's start; purged with the Map Run's row.
map_run_items = Table(
    "map_run_items",
    metadata,
    Column("map_run_arn", _ARN, primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("input", Text, nullable=False),  # JSON
)

history = Table(
    "history",
    metadata,
    # No foreign key (migration 0005): each row is written with its execution's own update,
    # and the per-row check cost half of writing the history on PostgreSQL.
    Column("execution_arn", _ARN, primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("previous_event_id", Integer, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("type", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON
)

timers = Table(
    "timers",
    metadata,
    Column("execution_arn", _ARN, ForeignKey(_EXECUTION_FK), primary_key=True),
    Column("timer_id", Text, primary_key=True),
    Column("due", Double, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token", Text, primary_key=True),
    Column("execution_arn", _ARN, ForeignKey(_EXECUTION_FK), nullable=False, index=True),
    Column("created", Double, nullable=False),
    Column("activity_arn", _ARN),
    Column("status", Text, nullable=False, server_default="OPEN"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("execution_arn", _ARN, ForeignKey(_EXECUTION_FK), nullable=False, index=True),
    Column("payload", Text, nullable=False),  # JSON: codec.event_to_json
    sqlite_autoincrement=True,  # never reuse a consumed event's seq
)

leases = Table(
    "leases",
    metadata,
    Column("execution_arn", _ARN, ForeignKey(_EXECUTION_FK), primary_key=True),
    Column("worker_id", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("expires", Double, nullable=False),
    # a worker's dead-lease check lists its host's pids from the index alone (migration 0012)
    Index("ix_leases_host_pid", "host", "pid"),
)

activities = Table(
    "activities",
    metadata,
    Column("arn", _ARN, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("tags", Text, nullable=False),  # JSON object
)

activity_tasks = Table(
    "activity_tasks",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),  # hand-out order: oldest first
    Column("token", Text, nullable=False, unique=True),
    Column("activity_arn", _ARN, nullable=False),
    Column("execution_arn", _ARN, ForeignKey(_EXECUTION_FK), nullable=False, index=True),
    Column("input", Text, nullable=False),  # JSON
    Column("created", Double, nullable=False),
    Column("worker_name", Text),
    Column("taken", Boolean, nullable=False),
    Index("ix_activity_tasks_pending", "activity_arn", "taken", "seq"),
    sqlite_autoincrement=True,
)


# Status-change events (migration 0009), written in the transaction of the change they report;
# `seq` is the delivery order. Each destination's cursor: the seq it finished with.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("execution_arn", _ARN, nullable=False),
    Column("time", Double, nullable=False, index=True),  # purge drops old events by time
    Column("event", Text, nullable=False),  # JSON: status_events.status_change_event
    sqlite_autoincrement=True,  # never reuse a seq: cursors point past delivered ones
)

outbox_cursors = Table(
    "outbox_cursors",
    metadata,
    Column("destination", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    # the dispatcher delivering to this destination now (one process at a time keeps each
    # execution's events in order), and until when its lease holds
    Column("owner", Text),
    Column("expires", Double),
)

schedules = Table(
    "schedules",
    metadata,
    Column("name", Text, primary_key=True),
    Column("machine_arn", _ARN, nullable=False),
    Column("expression", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("input", Text, nullable=False),  # JSON
    Column("schedule_state", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("updated", Double, nullable=False),
    Column("next_fire", Double),
    Column("last_fire", Double),
    Index("ix_schedules_due", "schedule_state", "next_fire"),
)


# -- rows <-> records ---------------------------------------------------------------------------
_R = TypeVar("_R")

JSON_COLUMNS: Final = frozenset(
    {
        "tags",
        "routing",
        "input",
        "output",
        "state",
        "details",
        "payload",
        "log_destinations",
        "event",
    }
)
"""Columns holding JSON text; every other column maps to its record field as is."""

_FIELDS: dict[type, tuple[str, ...]] = {}

_encode_text: Final = compact_encoder(ensure_ascii=False)
_encode_ascii: Final = compact_encoder(ensure_ascii=True)
_NOT_STORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def encode(value: object) -> str:
    """`values.dumps` with its encoder built once: the text of a JSON column (key order kept).

    A lone surrogate (a handler may return one; it is not Unicode, so no database can encode
    it) is written as its `\\u` escape instead: the same JSON value, read back as it was."""
    text = _encode_text(value)
    if not text.isascii() and _NOT_STORABLE.search(text):
        return _encode_ascii(value)
    return text


def storable_text(text: str | None) -> str | None:
    """A plain text column's value every database can hold: NUL (PostgreSQL refuses it) and
    lone surrogates (nothing can encode them) become U+FFFD. For what an execution produces
    (an error or cause from a handler or a Fail state), which must not make its commit fail."""
    if text is None or (text.isascii() and "\x00" not in text):
        return text
    return _NOT_STORABLE.sub("\ufffd", text)


def to_row(record: object, table: Table) -> dict[str, object]:
    """A record's fields as a row of `table` (JSON fields as text, key order kept)."""
    row: dict[str, object] = {}
    for column in table.columns:
        name = column.name
        if name in JSON_COLUMNS:
            row[name] = encode(getattr(record, name))
        elif hasattr(record, name):
            row[name] = getattr(record, name)
    return row


def records_without_state(conn: Connection, where: ColumnElement[bool]) -> list[ExecutionRecord]:
    """The executions `where` selects, read without their snapshot (`state` None): the
    largest column, which a status-change event or a result record does not need."""
    columns = [c for c in executions.c if c.name != "state"]
    query: Select[tuple[object, ...]] = select(*columns, literal("null").label("state"))
    query = query.where(where)
    return [from_row(ExecutionRecord, row) for row in conn.execute(query)]


def from_row(cls: type[_R], row: Row[tuple[object, ...]]) -> _R:
    """The record `cls` read from a row whose columns are named after its fields."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    m = row._mapping
    values = {n: json.loads(m[n]) if n in JSON_COLUMNS else m[n] for n in names}
    if cls is AliasRecord:  # JSON has no tuples
        values["routing"] = tuple((int(v), int(w)) for v, w in values["routing"])
    return cls(**values)

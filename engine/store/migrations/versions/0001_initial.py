"""The initial schema: machines, versions, aliases, definitions, executions, history, timers,
task tokens, inbox, leases, activities and activity tasks (see engine/store/schema.py).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TEXT = sa.Text()
TIME: sa.Double[float] = sa.Double()  # epoch seconds
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER


def _execution_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["execution_arn"], ["executions.arn"], name=f"fk_{table}_execution_arn_executions"
    )


def upgrade() -> None:
    op.create_table(
        "machines",
        sa.Column("arn", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("machine_type", TEXT, nullable=False),
        sa.Column("definition", TEXT, nullable=False),
        sa.Column("revision_id", TEXT, nullable=False),
        sa.Column("role_arn", TEXT, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.Column("logging_level", TEXT, nullable=False),
        sa.Column("description", TEXT, nullable=False),
        sa.Column("tags", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("arn", name="pk_machines"),
        sa.UniqueConstraint("name", name="uq_machines_name"),
    )
    op.create_table(
        "definitions",
        sa.Column("revision_id", TEXT, nullable=False),
        sa.Column("definition", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("revision_id", name="pk_definitions"),
    )
    op.create_table(
        "versions",
        sa.Column("machine_arn", TEXT, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision_id", TEXT, nullable=False),
        sa.Column("definition", TEXT, nullable=False),
        sa.Column("description", TEXT, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.PrimaryKeyConstraint("machine_arn", "version", name="pk_versions"),
    )
    op.create_table(
        "aliases",
        sa.Column("arn", TEXT, nullable=False),
        sa.Column("machine_arn", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("routing", TEXT, nullable=False),
        sa.Column("description", TEXT, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.PrimaryKeyConstraint("arn", name="pk_aliases"),
    )
    op.create_index("ix_aliases_machine_arn", "aliases", ["machine_arn"])
    op.create_table(
        "executions",
        sa.Column("arn", TEXT, nullable=False),
        sa.Column("machine_arn", TEXT, nullable=False),
        sa.Column("revision_id", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("machine_type", TEXT, nullable=False),
        sa.Column("input", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("start", TIME, nullable=False),
        sa.Column("stop", TIME, nullable=True),
        sa.Column("output", TEXT, nullable=False),
        sa.Column("error", TEXT, nullable=True),
        sa.Column("cause", TEXT, nullable=True),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("sync", sa.Boolean(), nullable=False),
        sa.Column("redrive_count", sa.Integer(), nullable=False),
        sa.Column("version_arn", TEXT, nullable=True),
        sa.Column("alias_arn", TEXT, nullable=True),
        sa.Column("trace_header", TEXT, nullable=True),
        sa.PrimaryKeyConstraint("arn", name="pk_executions"),
    )
    op.create_index("ix_executions_machine_start", "executions", ["machine_arn", "start", "arn"])
    op.create_index("ix_executions_status_start", "executions", ["status", "start"])
    op.create_index("ix_executions_stop", "executions", ["stop"])
    op.create_table(
        "history",
        sa.Column("execution_arn", TEXT, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("previous_event_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", TIME, nullable=False),
        sa.Column("type", TEXT, nullable=False),
        sa.Column("details", TEXT, nullable=False),
        _execution_fk("history"),
        sa.PrimaryKeyConstraint("execution_arn", "id", name="pk_history"),
    )
    op.create_table(
        "timers",
        sa.Column("execution_arn", TEXT, nullable=False),
        sa.Column("timer_id", TEXT, nullable=False),
        sa.Column("due", TIME, nullable=False),
        _execution_fk("timers"),
        sa.PrimaryKeyConstraint("execution_arn", "timer_id", name="pk_timers"),
    )
    op.create_table(
        "tokens",
        sa.Column("token", TEXT, nullable=False),
        sa.Column("execution_arn", TEXT, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("activity_arn", TEXT, nullable=True),
        _execution_fk("tokens"),
        sa.PrimaryKeyConstraint("token", name="pk_tokens"),
    )
    op.create_index("ix_tokens_execution_arn", "tokens", ["execution_arn"])
    op.create_table(
        "inbox",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("execution_arn", TEXT, nullable=False),
        sa.Column("payload", TEXT, nullable=False),
        _execution_fk("inbox"),
        sa.PrimaryKeyConstraint("seq", name="pk_inbox"),
        sqlite_autoincrement=True,  # a seq is never reused, even after its event is consumed
    )
    op.create_index("ix_inbox_execution_arn", "inbox", ["execution_arn"])
    op.create_table(
        "leases",
        sa.Column("execution_arn", TEXT, nullable=False),
        sa.Column("worker_id", TEXT, nullable=False),
        sa.Column("host", TEXT, nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("expires", TIME, nullable=False),
        _execution_fk("leases"),
        sa.PrimaryKeyConstraint("execution_arn", name="pk_leases"),
    )
    op.create_index("ix_leases_host", "leases", ["host"])
    op.create_table(
        "activities",
        sa.Column("arn", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("tags", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("arn", name="pk_activities"),
    )
    op.create_table(
        "activity_tasks",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("token", TEXT, nullable=False),
        sa.Column("activity_arn", TEXT, nullable=False),
        sa.Column("execution_arn", TEXT, nullable=False),
        sa.Column("input", TEXT, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("worker_name", TEXT, nullable=True),
        sa.Column("taken", sa.Boolean(), nullable=False),
        _execution_fk("activity_tasks"),
        sa.PrimaryKeyConstraint("seq", name="pk_activity_tasks"),
        sa.UniqueConstraint("token", name="uq_activity_tasks_token"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_activity_tasks_execution_arn", "activity_tasks", ["execution_arn"])
    op.create_index("ix_activity_tasks_pending", "activity_tasks", ["activity_arn", "taken", "seq"])


def downgrade() -> None:
    # children first: they reference executions
    for table in ("activity_tasks", "leases", "inbox", "tokens", "timers", "history"):
        op.drop_table(table)
    for table in ("activities", "executions", "aliases", "versions", "definitions", "machines"):
        op.drop_table(table)

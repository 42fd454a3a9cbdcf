"""Triggers: the outbox of status-change events, each destination's cursor, and schedules.

`outbox` holds EventBridge's "Step Functions Execution Status Change" events, each written in
the transaction of the status change it reports; `seq` orders delivery (never reused), `time`
lets retention drop old ones. `outbox_cursors` holds, per destination (a webhook, EventBridge),
the highest seq it finished with, and the lease of the one dispatcher delivering to it.
`schedules` holds `asl schedule` schedules; `next_fire` is compared-and-set when a worker fires
a tick (indexed with `schedule_state` for the due scan).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("execution_arn", sa.Text(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_time", "outbox", ["time"])
    op.create_table(
        "outbox_cursors",
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("expires", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("destination", name="pk_outbox_cursors"),
    )
    op.create_table(
        "schedules",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("machine_arn", sa.Text(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("schedule_state", sa.Text(), nullable=False),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("updated", sa.Double(), nullable=False),
        sa.Column("next_fire", sa.Double(), nullable=True),
        sa.Column("last_fire", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_schedules"),
    )
    op.create_index("ix_schedules_due", "schedules", ["schedule_state", "next_fire"])


def downgrade() -> None:
    op.drop_index("ix_schedules_due", table_name="schedules")
    op.drop_table("schedules")
    op.drop_table("outbox_cursors")
    op.drop_index("ix_outbox_time", table_name="outbox")
    op.drop_table("outbox")

"""Executions count their claims without progress (poison executions, issue 13).

`claims`: claims in a row that found no new history event since the previous one (a worker
closes the execution as FAILED past CRASH_LIMIT); `claim_mark`: the newest history event id at
the last claim.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("claims", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("claim_mark", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("claim_mark")
        batch.drop_column("claims")

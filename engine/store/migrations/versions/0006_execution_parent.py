"""Executions started by a parent's `states:startExecution` Task carry their parent link.

`parent_arn` (the parent execution), `parent_token` and `parent_pattern` (the token of the
parent's `.sync`/`.sync:2` Task and which of the two): the commit that closes the child answers
that token in its own transaction, and a parent that stops waiting finds its child by the token
(indexed). All nullable: executions started otherwise have none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("parent_arn", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parent_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parent_pattern", sa.Text(), nullable=True))
        batch.create_index("ix_executions_parent_token", ["parent_token"])


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_index("ix_executions_parent_token")
        batch.drop_column("parent_pattern")
        batch.drop_column("parent_token")
        batch.drop_column("parent_arn")

"""Map Run counts as AWS reports them: items per child execution, totals, results written.

`executions.item_count` is how many items a Distributed Map's child execution ran (one, or
its ItemBatcher batch's), so DescribeMapRun's itemCounts sum items and its executionCounts
count children; `map_runs.total_executions` is the number of child executions the run has in
all, and `map_runs.results_written` whether its results were written (resultsWritten).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("item_count", sa.Integer(), nullable=True))
    with op.batch_alter_table("map_runs") as batch:
        batch.add_column(
            sa.Column("total_executions", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("results_written", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("map_runs") as batch:
        batch.drop_column("results_written")
        batch.drop_column("total_executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("item_count")

"""Distributed Map runs: the `map_runs` table and each child execution's Map Run.

`map_runs` holds what DescribeMapRun reports of a Map Run besides its counts (status, dates,
MaxConcurrency, tolerances, item total, redrives), written by the parent's commits;
`executions.map_run_arn` links a child execution to its Map Run, indexed with the status so the
counts (ListExecutions with mapRunArn, DescribeMapRun's itemCounts) are one indexed query.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("map_run_arn", sa.Text(), nullable=True))
        batch.create_index("ix_executions_map_run", ["map_run_arn", "status"])
    op.create_table(
        "map_runs",
        sa.Column("arn", sa.Text(), primary_key=True),
        sa.Column("execution_arn", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("stop", sa.Double(), nullable=True),
        sa.Column("total_items", sa.Integer(), nullable=False),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("tolerated_failure_count", sa.Integer(), nullable=False),
        sa.Column("tolerated_failure_percentage", sa.Double(), nullable=False),
        sa.Column("redrive_count", sa.Integer(), nullable=False),
        sa.Column("redrive_date", sa.Double(), nullable=True),
    )
    op.create_index("ix_map_runs_execution_arn", "map_runs", ["execution_arn"])


def downgrade() -> None:
    op.drop_index("ix_map_runs_execution_arn", table_name="map_runs")
    op.drop_table("map_runs")
    with op.batch_alter_table("executions") as batch:
        batch.drop_index("ix_executions_map_run")
        batch.drop_column("map_run_arn")

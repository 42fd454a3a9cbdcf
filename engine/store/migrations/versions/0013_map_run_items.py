"""A Map Run's items in a table of their own, written once when the run starts.

A Distributed Map that runs its items as child executions kept every item in its frame, so in
the parent's snapshot, rewritten with every commit batch and decoded by every resume (100,000
CSV rows from an ItemReader: megabytes a batch). Now each child run's input is a row keyed by
(Map Run ARN, index), written with the step that starts the run; each child's start reads its
own. Purged with the Map Run (its parent's history retention).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_run_items",
        sa.Column("map_run_arn", sa.Text(), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("input", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("map_run_items")

"""Indexes that cost less per start and answer the dead-lease check from the index alone.

- `ix_executions_map_run` holds only Distributed Map children (`WHERE map_run_arn IS NOT
  NULL`): every other start and close wrote a (NULL, status) entry nobody reads. Queries by
  `map_run_arn = ?` imply the condition, so SQLite and PostgreSQL still use it.
- `ix_leases_host_pid` replaces `ix_leases_host`: a worker lists the pids holding leases on its
  host every few seconds (`lease_pids_on_host`, DISTINCT pid); with the pid in the index that is
  an index-only scan instead of a visit to every lease row (100,000 waiting executions hold
  100,000 leases).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_CHILDREN_ONLY = sa.text("map_run_arn IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_index("ix_executions_map_run")
        batch.create_index(
            "ix_executions_map_run",
            ["map_run_arn", "status"],
            sqlite_where=_CHILDREN_ONLY,
            postgresql_where=_CHILDREN_ONLY,
        )
    with op.batch_alter_table("leases") as batch:
        batch.drop_index("ix_leases_host")
        batch.create_index("ix_leases_host_pid", ["host", "pid"])


def downgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.drop_index("ix_leases_host_pid")
        batch.create_index("ix_leases_host", ["host"])
    with op.batch_alter_table("executions") as batch:
        batch.drop_index("ix_executions_map_run")
        batch.create_index("ix_executions_map_run", ["map_run_arn", "status"])

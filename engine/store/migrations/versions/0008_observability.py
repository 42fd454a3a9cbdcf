"""State machines keep their whole loggingConfiguration and their tracingConfiguration.

`include_execution_data` and `log_destinations` (the CloudWatch log group ARNs, a JSON array)
beside the existing `logging_level`, and `tracing_enabled`: DescribeStateMachine reported
tracing as disabled whatever was asked, and the execution log (docs/observability.md) needs
the rest. Existing machines keep AWS's defaults: no execution data, no destination, no tracing.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.add_column(
            sa.Column(
                "include_execution_data", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(
            sa.Column("log_destinations", sa.Text(), nullable=False, server_default="[]")
        )
        batch.add_column(
            sa.Column("tracing_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.drop_column("tracing_enabled")
        batch.drop_column("log_destinations")
        batch.drop_column("include_execution_data")

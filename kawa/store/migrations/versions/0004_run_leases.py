"""run_leases: owner leases on running workflow runs and messages (kawa.store.leases)

Revision ID: run_leases
Revises: app_mcp_servers
Create Date: 2026-11-30 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "run_leases"
down_revision = "app_mcp_servers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows already running keep a NULL lease: the reaper treats them as lapsed once they are as old as a lease.
    op.add_column("workflow_runs", sa.Column("lease_expires_at", sa.Double(), nullable=True))
    op.add_column("messages", sa.Column("lease_expires_at", sa.Double(), nullable=True))
    op.create_index("ix_messages_status", "messages", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_status", table_name="messages")
    op.drop_column("messages", "lease_expires_at")
    op.drop_column("workflow_runs", "lease_expires_at")

"""app_mcp_servers: apps published as MCP servers (server code, status)

Revision ID: app_mcp_servers
Revises: 0002
Create Date: 2026-11-30 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "app_mcp_servers"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_mcp_servers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("server_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id"),
        sa.UniqueConstraint("server_code"),
    )


def downgrade() -> None:
    op.drop_table("app_mcp_servers")

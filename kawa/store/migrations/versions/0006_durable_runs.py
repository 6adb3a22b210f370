"""durable_runs: paused run snapshots, Human Input forms and the per-run event log (kawa.store.durable_tables)

Revision ID: durable_runs
Revises: web_console
Create Date: 2026-11-30 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "durable_runs"
down_revision = "web_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_run_pauses",
        sa.Column("workflow_run_id", sa.String(36), primary_key=True),
        sa.Column("app_id", sa.String(36), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "human_input_forms",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("app_id", sa.String(36), nullable=False),
        sa.Column("workflow_run_id", sa.String(36), nullable=False),
        sa.Column("end_user_id", sa.String(36), nullable=True),
        sa.Column("node_id", sa.String(255), nullable=False),
        sa.Column("node_execution_id", sa.String(36), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expiration_time", sa.Double(), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=True),
        sa.Column("submitted_data", sa.JSON(), nullable=True),
        sa.Column("submitted_at", sa.Double(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_human_input_forms_app_id", "human_input_forms", ["app_id"])
    op.create_index("ix_human_input_forms_workflow_run_id", "human_input_forms", ["workflow_run_id"])
    op.create_index("ix_human_input_forms_due", "human_input_forms", ["status", "expiration_time"])
    op.create_table(
        "workflow_run_events",
        sa.Column("workflow_run_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(48), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workflow_run_events")
    op.drop_index("ix_human_input_forms_due", table_name="human_input_forms")
    op.drop_index("ix_human_input_forms_workflow_run_id", table_name="human_input_forms")
    op.drop_index("ix_human_input_forms_app_id", table_name="human_input_forms")
    op.drop_table("human_input_forms")
    op.drop_table("workflow_run_pauses")

"""annotations: app annotations, the annotation-reply setting, hits and enable/disable jobs (kawa.store.annotations)

Revision ID: annotations
Revises: durable_runs
Create Date: 2026-11-30 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "annotations"
down_revision = "durable_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_annotations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_app_annotations_app_created", "app_annotations", ["app_id", "created_at"], unique=False)
    op.create_table(
        "app_annotation_settings",
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("score_threshold", sa.Double(), nullable=False),
        sa.Column("embedding_provider_name", sa.String(length=255), nullable=False),
        sa.Column("embedding_model_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "app_annotation_hits",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("annotation_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("end_user_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["annotation_id"], ["app_annotations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_app_annotation_hits_annotation_id", "app_annotation_hits", ["annotation_id"], unique=False)
    op.create_index("ix_app_annotation_hits_message_id", "app_annotation_hits", ["message_id"], unique=False)
    op.create_table(
        "app_annotation_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_msg", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_app_annotation_jobs_app_id", "app_annotation_jobs", ["app_id"], unique=False)


def downgrade() -> None:
    op.drop_table("app_annotation_jobs")
    op.drop_table("app_annotation_hits")
    op.drop_table("app_annotations")
    op.drop_table("app_annotation_settings")

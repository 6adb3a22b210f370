"""knowledge_tags: tags of datasets and their bindings (kawa.store.tags)

Revision ID: knowledge_tags
Revises: run_leases
Create Date: 2026-11-30 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "knowledge_tags"
down_revision = "run_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_tags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "knowledge_tag_bindings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tag_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["knowledge_tags.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tag_id", "dataset_id"),
    )
    op.create_index("ix_knowledge_tag_bindings_dataset_id", "knowledge_tag_bindings", ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_knowledge_tag_bindings_dataset_id", table_name="knowledge_tag_bindings")
    op.drop_table("knowledge_tag_bindings")
    op.drop_table("knowledge_tags")

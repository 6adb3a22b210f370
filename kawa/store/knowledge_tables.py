"""Knowledge tables: datasets, their documents, segments (chunks), child chunks and metadata fields.

Embeddings are float32 bytes (`embedding`) on the searchable rows: segments in `text_model` datasets, child chunks in
`hierarchical_model` ones. `datasets.index_revision` goes up with every change that affects search, so in-memory
search indexes (kawa.knowledge.index) know when to reload, in every process.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kawa.store.tables import Base


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    provider: Mapped[str] = mapped_column(sa.String(32), default="vendor")
    permission: Mapped[str] = mapped_column(sa.String(32), default="only_me")
    indexing_technique: Mapped[str | None] = mapped_column(sa.String(32))
    doc_form: Mapped[str | None] = mapped_column(sa.String(32))
    embedding_model: Mapped[str | None] = mapped_column(sa.String(255))
    embedding_model_provider: Mapped[str | None] = mapped_column(sa.String(255))
    retrieval_model: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    built_in_field_enabled: Mapped[bool] = mapped_column(default=False)
    enable_api: Mapped[bool] = mapped_column(default=True)
    index_revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[float]
    updated_at: Mapped[float]


class DatasetDocument(Base):
    """A document of a dataset and its indexing progress (Dify's stage timestamps, error, segment counts)."""

    __tablename__ = "dataset_documents"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(sa.ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(255))
    data_source_type: Mapped[str] = mapped_column(sa.String(32), default="upload_file")
    data_source_info: Mapped[dict[str, Any]]
    storage_key: Mapped[str] = mapped_column(sa.String(512))
    source_filename: Mapped[str] = mapped_column(sa.String(255))
    mime_type: Mapped[str | None] = mapped_column(sa.String(255))
    batch: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_from: Mapped[str] = mapped_column(sa.String(32), default="api")
    doc_form: Mapped[str] = mapped_column(sa.String(32), default="text_model")
    doc_language: Mapped[str | None] = mapped_column(sa.String(64))
    process_rule: Mapped[dict[str, Any]]
    indexing_status: Mapped[str] = mapped_column(sa.String(32), default="waiting")
    error: Mapped[str | None] = mapped_column(sa.Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    archived: Mapped[bool] = mapped_column(default=False)
    word_count: Mapped[int] = mapped_column(default=0)
    tokens: Mapped[int] = mapped_column(default=0)
    hit_count: Mapped[int] = mapped_column(default=0)
    total_segments: Mapped[int] = mapped_column(default=0)
    completed_segments: Mapped[int] = mapped_column(default=0)
    doc_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processing_started_at: Mapped[float | None]
    parsing_completed_at: Mapped[float | None]
    cleaning_completed_at: Mapped[float | None]
    splitting_completed_at: Mapped[float | None]
    completed_at: Mapped[float | None]
    stopped_at: Mapped[float | None]
    paused_at: Mapped[float | None]
    disabled_at: Mapped[float | None]
    indexing_latency: Mapped[float | None]
    created_at: Mapped[float]
    updated_at: Mapped[float]

    __table_args__ = (
        sa.Index("ix_dataset_documents_dataset_position", "dataset_id", "position"),
        sa.Index("ix_dataset_documents_status", "indexing_status"),
    )


class DocumentSegment(Base):
    """A chunk. In parent-child datasets this is the parent, returned as context; its children are searched."""

    __tablename__ = "document_segments"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(sa.ForeignKey("datasets.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("dataset_documents.id", ondelete="CASCADE"))
    position: Mapped[int]
    content: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    word_count: Mapped[int] = mapped_column(default=0)
    tokens: Mapped[int] = mapped_column(default=0)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    index_node_id: Mapped[str] = mapped_column(sa.String(36))
    index_node_hash: Mapped[str] = mapped_column(sa.String(64))
    hit_count: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(32), default="waiting")
    error: Mapped[str | None] = mapped_column(sa.Text)
    embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    disabled_at: Mapped[float | None]
    indexing_at: Mapped[float | None]
    completed_at: Mapped[float | None]
    created_at: Mapped[float]
    updated_at: Mapped[float]

    __table_args__ = (
        sa.Index("ix_document_segments_document_position", "document_id", "position"),
        sa.Index("ix_document_segments_dataset", "dataset_id"),
    )


class ChildChunk(Base):
    __tablename__ = "child_chunks"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(sa.ForeignKey("datasets.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("dataset_documents.id", ondelete="CASCADE"))
    segment_id: Mapped[str] = mapped_column(sa.ForeignKey("document_segments.id", ondelete="CASCADE"))
    position: Mapped[int]
    content: Mapped[str] = mapped_column(sa.Text)
    word_count: Mapped[int] = mapped_column(default=0)
    type: Mapped[str] = mapped_column(sa.String(32), default="automatic")
    index_node_id: Mapped[str] = mapped_column(sa.String(36))
    index_node_hash: Mapped[str] = mapped_column(sa.String(64))
    embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[float]
    updated_at: Mapped[float]

    __table_args__ = (
        sa.Index("ix_child_chunks_segment_position", "segment_id", "position"),
        sa.Index("ix_child_chunks_dataset", "dataset_id"),
    )


class DatasetMetadataField(Base):
    """A metadata field of a dataset (`string`, `number` or `time`); values live in each document's doc_metadata."""

    __tablename__ = "dataset_metadata_fields"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(sa.ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    type: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[float]

    __table_args__ = (sa.UniqueConstraint("dataset_id", "name"),)

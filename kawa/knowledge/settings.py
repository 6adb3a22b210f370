"""`KnowledgeSettings`: the knobs of knowledge bases, nested into Settings as `knowledge` (env `KAWA_KNOWLEDGE__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KnowledgeSettings(BaseModel):
    """Indexing and retrieval of knowledge bases (datasets)."""

    indexing_queue: Literal["auto", "in-process", "redis"] = Field(
        "auto",
        description="Where indexing jobs wait: `in-process`, `redis` (needs KAWA_REDIS_URL; any kawa process "
        "indexes), or `auto` (redis when KAWA_REDIS_URL is set).",
    )
    indexing_workers: int = Field(1, ge=1, description="Documents one process indexes at the same time.")
    embedding_batch: int = Field(32, ge=1, le=256, description="Chunks embedded per model call while indexing.")
    ann_min_chunks: int = Field(
        20_000,
        ge=0,
        description="Vectors in a dataset from which search uses an HNSW graph (hnswlib; saved beside a SQLite "
        "database, or in KAWA_HOME/vector-graphs with PostgreSQL) instead of an exact scan; below it exact search is "
        "both exact and faster.",
    )
    upload_mb: int = Field(15, ge=1, description="Largest file accepted by `document/create_by_file`, in MB.")

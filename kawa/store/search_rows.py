"""`SearchRows`: what a dataset's in-memory search index is built from — the searchable chunks with their text and
embedding, read in one transaction together with the dataset's `index_revision`.

The index itself (matrix, BM25, cache) is kawa.knowledge.index; this is only the query.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from kawa.store.database import Database
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DocumentSegment


@dataclass(frozen=True, slots=True)
class SearchRow:
    """A searchable unit: a segment, or a child chunk (`child_id`) of one in parent-child datasets."""

    segment_id: str
    document_id: str
    child_id: str | None
    text: str
    embedding: bytes | None


@dataclass(frozen=True, slots=True)
class SearchSnapshot:
    revision: int
    rows: list[SearchRow]


class SearchRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, dataset_id: str, *, hierarchical: bool) -> SearchSnapshot:
        """Enabled, completed chunks of available documents, in document and position order. `hierarchical`
        (parent-child datasets) searches child chunks; otherwise segments, their answer appended."""
        searchable = sa.and_(
            DatasetDocument.dataset_id == dataset_id,
            DatasetDocument.enabled.is_(True),
            DatasetDocument.archived.is_(False),
            DatasetDocument.indexing_status == "completed",
            DocumentSegment.enabled.is_(True),
            DocumentSegment.status == "completed",
        )
        async with self.db.session() as session:
            # The revision is read in the same transaction as the rows, so a concurrent change bumps it again.
            revision = await session.scalar(sa.select(Dataset.index_revision).where(Dataset.id == dataset_id))
            if hierarchical:
                query = (
                    sa.select(
                        ChildChunk.segment_id,
                        ChildChunk.document_id,
                        ChildChunk.id,
                        ChildChunk.content,
                        ChildChunk.embedding,
                    )
                    .join(DocumentSegment, DocumentSegment.id == ChildChunk.segment_id)
                    .join(DatasetDocument, DatasetDocument.id == ChildChunk.document_id)
                    .where(searchable)
                    .order_by(DocumentSegment.document_id, DocumentSegment.position, ChildChunk.position)
                )
                rows = [SearchRow(s, d, c, text, emb) for s, d, c, text, emb in (await session.execute(query)).all()]
            else:
                flat = (
                    sa.select(
                        DocumentSegment.id,
                        DocumentSegment.document_id,
                        DocumentSegment.content,
                        DocumentSegment.answer,
                        DocumentSegment.embedding,
                    )
                    .join(DatasetDocument, DatasetDocument.id == DocumentSegment.document_id)
                    .where(searchable)
                    .order_by(DocumentSegment.document_id, DocumentSegment.position)
                )
                rows = [
                    SearchRow(s, d, None, text + ("\n" + answer if answer else ""), emb)
                    for s, d, text, answer, emb in (await session.execute(flat)).all()
                ]
        return SearchSnapshot(int(revision or 0), rows)

"""In-memory search indexes per dataset: a float32 matrix for exact cosine search and a BM25 index.

Exact search is used on SQLite and PostgreSQL alike: at knowledge-base sizes (10^4..10^5 chunks) one matrix-vector
product takes about a millisecond, faster than an ANN extension round trip (see bench/knowledge.py). An index is
rebuilt when its dataset's `index_revision` changes, which every process checks with one cheap query per search.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from kawa.knowledge.keyword import KeywordIndex
from kawa.store.database import Database
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DocumentSegment


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """A searchable unit: a segment, or a child chunk (`child_id`) of one in parent-child datasets."""

    segment_id: str
    document_id: str
    child_id: str | None


class DatasetIndex:
    def __init__(
        self, revision: int, chunks: list[IndexedChunk], texts: list[str], vectors: list[bytes | None]
    ) -> None:
        self.revision = revision
        self.chunks = chunks
        self.document_ids = np.asarray([c.document_id for c in chunks], dtype=object)
        self.keywords = KeywordIndex(texts)
        # Rows embedded by another model (a changed embedding model) have another size: the most common one wins.
        sizes = [len(v) for v in vectors if v]
        dim = max(set(sizes), key=sizes.count) // 4 if sizes else 0
        self.has_vector: npt.NDArray[np.bool_] = np.asarray(
            [v is not None and len(v) == dim * 4 for v in vectors], dtype=np.bool_
        )
        matrix = np.zeros((len(chunks), dim), dtype=np.float32)
        for row, blob in enumerate(vectors):
            if self.has_vector[row]:
                matrix[row] = np.frombuffer(blob, dtype=np.float32)  # type: ignore[arg-type]
        self.matrix = matrix
        self.dim = dim

    def __len__(self) -> int:
        return len(self.chunks)

    def vector_scores(self, query: list[float]) -> npt.NDArray[np.float32]:
        """Cosine similarity per chunk (vectors are L2-normalised); -1 where a chunk has no vector."""
        if self.dim == 0 or len(query) != self.dim:
            return np.full(len(self.chunks), -1.0, dtype=np.float32)
        q = np.asarray(query, dtype=np.float32)
        norm = float(np.linalg.norm(q)) or 1.0
        scores = self.matrix @ (q / norm)
        scores[~self.has_vector] = -1.0
        return scores

    def mask_for(self, document_ids: set[str]) -> npt.NDArray[np.bool_]:
        return np.fromiter((d in document_ids for d in self.document_ids), dtype=bool, count=len(self.chunks))


class IndexCache:
    """Holds the newest `DatasetIndex` of each dataset searched in this process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._indexes: dict[str, DatasetIndex] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, dataset: Dataset) -> DatasetIndex:
        current = self._indexes.get(dataset.id)
        if current is not None and current.revision == dataset.index_revision:
            return current
        lock = self._locks.setdefault(dataset.id, asyncio.Lock())
        async with lock:
            current = self._indexes.get(dataset.id)
            if current is not None and current.revision == dataset.index_revision:
                return current
            index = await self._load(dataset)
            self._indexes[dataset.id] = index
            return index

    def forget(self, dataset_id: str) -> None:
        self._indexes.pop(dataset_id, None)

    async def _load(self, dataset: Dataset) -> DatasetIndex:
        searchable = sa.and_(
            DatasetDocument.dataset_id == dataset.id,
            DatasetDocument.enabled.is_(True),
            DatasetDocument.archived.is_(False),
            DatasetDocument.indexing_status == "completed",
            DocumentSegment.enabled.is_(True),
            DocumentSegment.status == "completed",
        )
        async with self.db.session() as session:
            # The revision is read in the same transaction as the rows, so a concurrent change bumps it again.
            revision = await session.scalar(sa.select(Dataset.index_revision).where(Dataset.id == dataset.id))
            if dataset.doc_form == "hierarchical_model":
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
                rows = [
                    (IndexedChunk(s, d, c), text, emb) for s, d, c, text, emb in (await session.execute(query)).all()
                ]
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
                    (IndexedChunk(s, d, None), text + ("\n" + answer if answer else ""), emb)
                    for s, d, text, answer, emb in (await session.execute(flat)).all()
                ]
        return await asyncio.to_thread(
            DatasetIndex, int(revision or 0), [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
        )

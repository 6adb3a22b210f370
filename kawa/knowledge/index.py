"""In-memory search indexes per dataset: a float32 matrix for exact cosine search and a BM25 index.

Exact search is used on SQLite and PostgreSQL alike: at knowledge-base sizes (10^4..10^5 chunks) one matrix-vector
product takes about a millisecond, faster than an ANN extension round trip (see bench/knowledge.py). An index is
rebuilt when its dataset's `index_revision` changes, which every process checks with one cheap query per search.
The rows an index is built from are read by `kawa.store.search_rows.SearchRows`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kawa.knowledge.keyword import KeywordIndex
from kawa.store.knowledge_tables import Dataset
from kawa.store.search_rows import SearchRows


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

    def __init__(self, rows: SearchRows) -> None:
        self.rows = rows
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
        snapshot = await self.rows.load(dataset.id, hierarchical=dataset.doc_form == "hierarchical_model")
        rows = snapshot.rows
        return await asyncio.to_thread(
            DatasetIndex,
            snapshot.revision,
            [IndexedChunk(r.segment_id, r.document_id, r.child_id) for r in rows],
            [r.text for r in rows],
            [r.embedding for r in rows],
        )

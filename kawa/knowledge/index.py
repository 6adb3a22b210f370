"""In-memory search indexes per dataset: vector search (exact, or an HNSW graph from `ann_min_chunks` chunks up; see
`vector_index`) and a BM25 keyword index.

An index is rebuilt when its dataset's `index_revision` changes, which every process checks with one cheap query per
search; an HNSW graph is not rebuilt then but repaired in place (stale keys removed, new ones added), and on SQLite it
is saved beside the database so a restart repairs the saved graph too (`graph_files`). The rows an index is built from
are read by `kawa.store.search_rows.SearchRows`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kawa.knowledge.graph_files import GraphFiles
from kawa.knowledge.keyword import KeywordIndex
from kawa.knowledge.vector_index import (
    ApproximateVectors,
    ExactVectors,
    HnswGraph,
    VectorHits,
    VectorSearch,
    chunk_keys,
    new_graph,
    repair_graph,
)
from kawa.store.knowledge_tables import Dataset
from kawa.store.search_rows import SearchRows

log = logging.getLogger("kawa.knowledge")

# A saved graph missing more than this share of the rows' keys is rebuilt rather than repaired (removed nodes stay
# as tombstones in an HNSW graph and slow it down).
REBUILD_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """A searchable unit: a segment, or a child chunk (`child_id`) of one in parent-child datasets."""

    segment_id: str
    document_id: str
    child_id: str | None


@dataclass(frozen=True, slots=True)
class VectorPolicy:
    """How a process indexes vectors: exact below `ann_min_chunks` vectors, an HNSW graph from there; `files` keeps
    graphs beside a SQLite database (None: in memory only, as on PostgreSQL)."""

    ann_min_chunks: int = 20_000
    files: GraphFiles | None = None


class DatasetIndex:
    def __init__(
        self,
        revision: int,
        chunks: list[IndexedChunk],
        keywords: KeywordIndex,
        vectors: VectorSearch | None,
        has_vector: npt.NDArray[np.bool_],
        dim: int,
    ) -> None:
        self.revision = revision
        self.chunks = chunks
        self.document_ids = np.asarray([c.document_id for c in chunks], dtype=object)
        self.keywords = keywords
        self.vectors = vectors
        self.has_vector = has_vector
        self.dim = dim

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def graph(self) -> HnswGraph | None:
        return self.vectors.graph if isinstance(self.vectors, ApproximateVectors) else None

    def vector_hits(self, query: list[float], k: int, allowed: npt.NDArray[np.bool_] | None = None) -> VectorHits:
        """The `k` chunks nearest to `query` by cosine (among `allowed` rows), best first; none when the query
        has another dimension than the dataset's vectors."""
        if self.vectors is None or self.dim == 0 or len(query) != self.dim:
            return VectorHits(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32))
        q = np.asarray(query, dtype=np.float32)
        norm = float(np.linalg.norm(q)) or 1.0
        return self.vectors.search(q / norm, k, allowed)

    def mask_for(self, document_ids: set[str]) -> npt.NDArray[np.bool_]:
        return np.fromiter((d in document_ids for d in self.document_ids), dtype=bool, count=len(self.chunks))


def build_index(
    dataset_id: str,
    revision: int,
    chunks: list[IndexedChunk],
    texts: list[str],
    vectors: list[bytes | None],
    policy: VectorPolicy,
    previous: HnswGraph | None = None,
) -> DatasetIndex:
    """Build a dataset's index (blocking: run it in a thread). `previous` is the graph of the dataset's last index
    in this process, repaired in place instead of loading or building one."""
    # Rows embedded by another model (a changed embedding model) have another size: the most common one wins.
    sizes = [len(v) for v in vectors if v]
    dim = max(set(sizes), key=sizes.count) // 4 if sizes else 0
    has_vector = np.asarray([v is not None and len(v) == dim * 4 for v in vectors], dtype=np.bool_)
    rows = np.flatnonzero(has_vector).astype(np.intp)
    blobs = [vectors[r] or b"" for r in rows]
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), dim) if dim else None
    search: VectorSearch | None = None
    if matrix is not None and len(rows) >= max(policy.ann_min_chunks, 1):
        ids = [chunks[r].child_id or chunks[r].segment_id for r in rows]
        keys = chunk_keys(ids, blobs)
        graph = _graph_for(dataset_id, dim, keys, matrix, policy, previous)
        search = ApproximateVectors(graph, keys, rows)
    elif matrix is not None:
        search = ExactVectors(matrix, rows)
    return DatasetIndex(revision, chunks, KeywordIndex(texts), search, has_vector, dim)


def _graph_for(
    dataset_id: str,
    dim: int,
    keys: npt.NDArray[np.uint64],
    matrix: npt.NDArray[np.float32],
    policy: VectorPolicy,
    previous: HnswGraph | None,
) -> HnswGraph:
    if previous is not None and previous.ndim == dim:
        _repair(dataset_id, previous, keys, matrix, "repaired in memory")
        return previous
    files = policy.files
    if files is None:
        graph = new_graph(dim, len(keys))
        _repair(dataset_id, graph, keys, matrix, "built")
        return graph
    with files.locked(dataset_id):
        saved = files.load(dataset_id, dim)
        if saved is not None and np.isin(keys, saved.keys).mean() >= REBUILD_SHARE:
            if _repair(dataset_id, saved, keys, matrix, "loaded and repaired"):
                files.save(dataset_id, saved)
            return saved
        # None saved, or mostly other rows (a re-embedded dataset): building anew beats repairing.
        graph = new_graph(dim, len(keys))
        _repair(dataset_id, graph, keys, matrix, "built")
        files.save(dataset_id, graph)
        return graph


def _repair(
    dataset_id: str, graph: HnswGraph, keys: npt.NDArray[np.uint64], matrix: npt.NDArray[np.float32], how: str
) -> bool:
    """Make `graph` hold `keys`; True when it changed."""
    started = time.perf_counter()
    removed, added = repair_graph(graph, keys, matrix)
    log.info(
        "vector index of dataset %s %s: %d vectors (%d added, %d removed) in %.2f s",
        dataset_id,
        how,
        len(keys),
        added,
        removed,
        time.perf_counter() - started,
    )
    return bool(removed or added)


class IndexCache:
    """Holds the newest `DatasetIndex` of each dataset searched in this process."""

    def __init__(self, rows: SearchRows, policy: VectorPolicy | None = None) -> None:
        self.rows = rows
        self.policy = policy or VectorPolicy()
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
        """Drop a deleted dataset's index, and its saved graph."""
        self._indexes.pop(dataset_id, None)
        if self.policy.files is not None:
            self.policy.files.remove(dataset_id)

    async def _load(self, dataset: Dataset) -> DatasetIndex:
        snapshot = await self.rows.load(dataset.id, hierarchical=dataset.doc_form == "hierarchical_model")
        rows = snapshot.rows
        previous = self._indexes.get(dataset.id)
        return await asyncio.to_thread(
            build_index,
            dataset.id,
            snapshot.revision,
            [IndexedChunk(r.segment_id, r.document_id, r.child_id) for r in rows],
            [r.text for r in rows],
            [r.embedding for r in rows],
            self.policy,
            previous.graph if previous is not None else None,
        )

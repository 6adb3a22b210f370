"""Vector search over one dataset's chunks: exact (a float32 matrix) for small datasets, approximate (a usearch HNSW
graph, cosine, float16) from `ann_min_chunks` up.

usearch was chosen on measurement (bench/knowledge.py): sqlite-vec needs `enable_load_extension`, which this
Python's sqlite3 lacks; hnswlib ships no wheel (source only); usearch has wheels, an Apache-2.0 licence, saves and
restores a graph in one file and removes keys in place. Keys are 63-bit hashes of chunk ids, so an index saved at one
revision can be repaired to the rows of another (stale keys removed, new ones added) instead of rebuilt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from usearch.index import Index

CONNECTIVITY = 16
# Build effort: 128 took 257 s for 10^5 chunks on the loaded 2-core machine (recall@10 0.982); 64 halves it.
EXPANSION_ADD = 64
# Candidates explored per query: the recall/latency knob (measured in bench/knowledge.py scale).
EXPANSION_SEARCH = 192
# A filtered search asks the graph for this many times more candidates before an exact scan of the allowed rows.
FILTER_OVERSAMPLE = 8

Floats = npt.NDArray[np.float32]
Rows = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class VectorHits:
    """Rows of the dataset index, best first, with their cosine similarity."""

    rows: Rows
    scores: Floats


class VectorSearch(Protocol):
    """Nearest chunks to a query vector (L2-normalised, of the index's dimension)."""

    approximate: bool

    def search(self, query: Floats, k: int, allowed: npt.NDArray[np.bool_] | None) -> VectorHits: ...

    def memory_bytes(self) -> int: ...


def chunk_key(chunk_id: str, vector: bytes) -> int:
    """A stable 63-bit key for a chunk and its vector, so an edited chunk or a re-embedded dataset gets new keys
    (usearch keys are unsigned 64-bit; 63 bits keep numpy's int64 happy)."""
    digest = hashlib.blake2b(chunk_id.encode(), digest_size=8)
    digest.update(vector)
    return int.from_bytes(digest.digest(), "little") >> 1


def chunk_keys(chunk_ids: list[str], vectors: list[bytes]) -> npt.NDArray[np.uint64]:
    pairs = zip(chunk_ids, vectors, strict=True)
    return np.fromiter((chunk_key(c, v) for c, v in pairs), dtype=np.uint64, count=len(chunk_ids))


def _best(scores: Floats, rows: Rows, k: int) -> VectorHits:
    if scores.size > k:
        part = np.argpartition(-scores, k)[:k]
        scores, rows = scores[part], rows[part]
    order = np.argsort(-scores, kind="stable")
    return VectorHits(rows[order], scores[order])


class ExactVectors:
    """A float32 matrix product: exact, and below ~10^4 chunks faster than any graph."""

    approximate = False

    def __init__(self, matrix: Floats, rows: Rows) -> None:
        self.matrix = matrix  # one line per row in `rows`
        self.rows = rows

    def search(self, query: Floats, k: int, allowed: npt.NDArray[np.bool_] | None) -> VectorHits:
        matrix, rows = self.matrix, self.rows
        if allowed is not None:
            keep = allowed[rows]
            matrix, rows = matrix[keep], rows[keep]
        return _best(matrix @ query, rows, k)

    def memory_bytes(self) -> int:
        return int(self.matrix.nbytes + self.rows.nbytes)


class ApproximateVectors:
    """An HNSW graph over the rows that have a vector; `keys` (sorted) map graph keys back to index rows."""

    approximate = True

    def __init__(self, graph: Index, keys: npt.NDArray[np.uint64], rows: Rows) -> None:
        order = np.argsort(keys)
        self.graph = graph
        self.sorted_keys = keys[order]
        self.sorted_rows = rows[order]

    def _rows_of(self, keys: npt.NDArray[np.uint64]) -> Rows:
        at = np.clip(np.searchsorted(self.sorted_keys, keys), 0, max(len(self.sorted_keys) - 1, 0))
        found = self.sorted_keys[at] == keys
        return np.where(found, self.sorted_rows[at], -1).astype(np.intp)

    def search(self, query: Floats, k: int, allowed: npt.NDArray[np.bool_] | None) -> VectorHits:
        if len(self.sorted_keys) == 0:
            return VectorHits(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32))
        want = k if allowed is None else k * FILTER_OVERSAMPLE
        expansion = max(EXPANSION_SEARCH, want)
        if self.graph.expansion_search != expansion:
            # usearch defines this setter apart from its property, which mypy reads as read-only.
            self.graph.expansion_search = expansion  # type: ignore[misc]  # a setter exists (see above)
        matches = self.graph.search(query, min(want, len(self.sorted_keys)), threads=1)
        rows = self._rows_of(np.asarray(matches.keys, dtype=np.uint64))
        scores = (1.0 - np.asarray(matches.distances, dtype=np.float32)).astype(np.float32)
        known = rows >= 0
        rows, scores = rows[known], scores[known]
        if allowed is None:
            return VectorHits(rows[:k], scores[:k])
        keep = allowed[rows]
        if int(keep.sum()) >= k:
            return VectorHits(rows[keep][:k], scores[keep][:k])
        return self._exact_over(query, k, allowed)

    def _exact_over(self, query: Floats, k: int, allowed: npt.NDArray[np.bool_]) -> VectorHits:
        """A filter so narrow the graph's neighbourhood misses it: score the allowed rows' stored vectors exactly."""
        keep = allowed[self.sorted_rows]
        keys, rows = self.sorted_keys[keep], self.sorted_rows[keep]
        if len(keys) == 0:
            return VectorHits(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32))
        vectors = np.asarray(self.graph.get(keys, dtype="f32"), dtype=np.float32)
        return _best(vectors @ query, rows, k)

    def memory_bytes(self) -> int:
        return int(self.graph.memory_usage + self.sorted_keys.nbytes + self.sorted_rows.nbytes)


def new_graph(dim: int) -> Index:
    return Index(
        ndim=dim,
        metric="cos",
        dtype="f16",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def repair_graph(graph: Index, keys: npt.NDArray[np.uint64], matrix: Floats) -> tuple[int, int]:
    """Make `graph` hold exactly `keys` (vectors in `matrix`, same order): remove stale keys, add missing ones.
    Returns (removed, added)."""
    present = np.asarray(graph.keys, dtype=np.uint64) if len(graph) else np.empty(0, dtype=np.uint64)
    stale = np.setdiff1d(present, keys, assume_unique=True)
    missing = ~np.isin(keys, present, assume_unique=True)
    if len(stale):
        graph.remove(stale)
    if missing.any():
        graph.add(keys[missing], matrix[missing])
    return len(stale), int(missing.sum())

"""Vector search over one dataset's chunks: exact (a float32 matrix) for small datasets, approximate (an hnswlib HNSW
graph, cosine, float32) from `ann_min_chunks` up.

hnswlib, not usearch: the usearch wheel links libstdc++ statically and exports its GNU-unique symbols, and once it is
imported llama.cpp (the embedded chat model, `kawa[local-llm]`) fails to load any GGUF model in the same process
("error loading model vocabulary: std::bad_cast"). hnswlib builds from source at install (~30 s) against the system
libstdc++ and coexists with llama.cpp (tests/models/test_vector_index_with_llama.py). sqlite-vec needs
`enable_load_extension`, which this Python's sqlite3 lacks. Keys are 63-bit hashes of chunk ids, so a graph saved at
one revision can be repaired to the rows of another (stale keys marked deleted, new ones added into the deleted slots
first) instead of rebuilt.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import hnswlib
import numpy as np
import numpy.typing as npt

CONNECTIVITY = 16
# Build effort: 128 took 257 s for 10^5 chunks on the loaded 2-core machine (recall@10 0.982); 64 halves it.
EXPANSION_ADD = 64
# Candidates explored per query: the recall/latency knob (measured in bench/knowledge.py scale).
EXPANSION_SEARCH = 192
# A filtered search asks the graph for this many times more candidates before an exact scan of the allowed rows.
FILTER_OVERSAMPLE = 8
# A full graph grows by at least this factor, so repairs that add a few rows do not reallocate each time.
GROWTH = 1.25

Floats = npt.NDArray[np.float32]
Rows = npt.NDArray[np.intp]
Keys = npt.NDArray[np.uint64]

# hnswlib's file header (hnswalg.h saveIndex): offsetLevel0, max_elements, cur_element_count, size_data_per_element,
# label_offset, offsetData (size_t), maxlevel (int), enterpoint_node (uint32), maxM, maxM0, M (size_t), mult (double),
# ef_construction (size_t); then cur_element_count level-0 records: link list (uint16 count, a flags byte whose bit 0
# marks a deleted element, a spare byte, maxM0 uint32 links), the vector, the uint64 label.
_HEADER = struct.Struct("<6QiI3QdQ")
_DELETED = 0x01


class UnreadableGraph(Exception):
    """A graph file that is torn, foreign or inconsistent: the rows are the truth, so it is rebuilt."""


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
    (hnswlib labels are unsigned 64-bit; 63 bits keep numpy's int64 happy)."""
    digest = hashlib.blake2b(chunk_id.encode(), digest_size=8)
    digest.update(vector)
    return int.from_bytes(digest.digest(), "little") >> 1


def chunk_keys(chunk_ids: list[str], vectors: list[bytes]) -> Keys:
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


def _live_keys_in_file(path: Path, dim: int) -> Keys | None:
    """The labels of the elements not marked deleted in a saved graph; None when it holds another dimension.
    Checked before hnswlib reads the file, whose loader trusts the header (a torn file could make it allocate
    whatever its first bytes say)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise UnreadableGraph("shorter than its header")
    offset0, capacity, count, per_element, label_at, data_at, _, _, _, max_m0, _, _, _ = _HEADER.unpack(head)
    links = 4 + 4 * max_m0
    if offset0 != 0 or data_at != links or per_element != label_at + 8 or not 0 < count <= capacity:
        raise UnreadableGraph("inconsistent header")
    if _HEADER.size + count * per_element > size or (label_at - data_at) % 4:
        raise UnreadableGraph("truncated")
    if (label_at - data_at) // 4 != dim:
        return None
    records = np.memmap(path, dtype=np.uint8, mode="r", offset=_HEADER.size, shape=(count, per_element))
    labels = np.ascontiguousarray(records[:, label_at : label_at + 8]).view("<u8").ravel().astype(np.uint64)
    live = (records[:, 2] & _DELETED) == 0
    return np.sort(labels[live])


class HnswGraph:
    """An hnswlib graph and the keys it holds (sorted). Deleted keys stay in the graph as tombstones until an added
    key takes their slot; a key added back while its tombstone is still there is revived (the same key is the same
    chunk and vector)."""

    def __init__(self, index: hnswlib.Index, keys: Keys) -> None:
        self._index = index
        self.keys = keys
        # hnswlib searches while vectors are added or marked deleted, but not while it reallocates (resize).
        self._resizing = threading.Lock()

    @classmethod
    def new(cls, dim: int, capacity: int = 1) -> HnswGraph:
        index = hnswlib.Index(space="cosine", dim=dim)
        index.init_index(
            max_elements=max(capacity, 1), ef_construction=EXPANSION_ADD, M=CONNECTIVITY, allow_replace_deleted=True
        )
        index.set_ef(EXPANSION_SEARCH)
        return cls(index, np.empty(0, dtype=np.uint64))

    @classmethod
    def load(cls, path: Path, dim: int) -> HnswGraph | None:
        """A saved graph; None when it holds vectors of another dimension. Raises UnreadableGraph (or hnswlib's
        RuntimeError) for a file it cannot read."""
        keys = _live_keys_in_file(path, dim)
        if keys is None:
            return None
        index = hnswlib.Index(space="cosine", dim=dim)
        index.load_index(str(path), max_elements=0, allow_replace_deleted=True)
        index.set_ef(EXPANSION_SEARCH)
        return cls(index, keys)

    def save(self, path: Path) -> None:
        self._index.save_index(str(path))

    @property
    def ndim(self) -> int:
        return int(self._index.dim)

    def __len__(self) -> int:
        return len(self.keys)

    def search(self, query: Floats, k: int, expansion: int) -> tuple[Keys, Floats]:
        """The `k` nearest keys and their cosine distances, best first (hnswlib's RuntimeError when the graph
        cannot reach `k` live elements)."""
        with self._resizing:
            if self._index.ef != expansion:
                self._index.set_ef(expansion)
            labels, distances = self._index.knn_query(query, k=k, num_threads=1)
        return np.asarray(labels[0], dtype=np.uint64), np.asarray(distances[0], dtype=np.float32)

    def vectors(self, keys: Keys) -> Floats:
        """The stored (normalised) vectors of live keys."""
        return np.asarray(self._index.get_items(keys.tolist()), dtype=np.float32).reshape(len(keys), self.ndim)

    def repair(self, keys: Keys, matrix: Floats) -> tuple[int, int]:
        """Make the graph hold exactly `keys` (unique; vectors in `matrix`, same order): mark stale keys deleted,
        add missing ones. Returns (removed, added)."""
        stale = np.setdiff1d(self.keys, keys, assume_unique=True)
        missing = ~np.isin(keys, self.keys, assume_unique=True)
        for key in stale.tolist():
            self._index.mark_deleted(key)
        if missing.any():
            slots = np.asarray(self._index.get_ids_list(), dtype=np.uint64)  # live and deleted labels
            dead = np.isin(keys, slots) & missing
            for key in keys[dead].tolist():
                self._index.unmark_deleted(key)
            fresh = missing & ~dead
            self._add(keys[fresh], matrix[fresh], live=len(keys) - int(fresh.sum()))
        self.keys = np.sort(keys)
        return len(stale), int(missing.sum())

    def _add(self, keys: Keys, matrix: Floats, live: int) -> None:
        """Add new keys, into deleted elements' slots first; `live` elements are in the graph now."""
        if not len(keys):
            return
        used = int(self._index.element_count)
        needed = used + max(0, len(keys) - (used - live))
        capacity = int(self._index.max_elements)
        if needed > capacity:
            with self._resizing:
                self._index.resize_index(max(needed, int(capacity * GROWTH)))
        self._index.add_items(matrix, keys, replace_deleted=True)

    def memory_bytes(self) -> int:
        return int(self._index.index_file_size()) + int(self.keys.nbytes)


class ApproximateVectors:
    """An HNSW graph over the rows that have a vector; `keys` (sorted) map graph keys back to index rows."""

    approximate = True

    def __init__(self, graph: HnswGraph, keys: Keys, rows: Rows) -> None:
        order = np.argsort(keys)
        self.graph = graph
        self.sorted_keys = keys[order]
        self.sorted_rows = rows[order]

    def _rows_of(self, keys: Keys) -> Rows:
        at = np.clip(np.searchsorted(self.sorted_keys, keys), 0, max(len(self.sorted_keys) - 1, 0))
        found = self.sorted_keys[at] == keys
        return np.where(found, self.sorted_rows[at], -1).astype(np.intp)

    def search(self, query: Floats, k: int, allowed: npt.NDArray[np.bool_] | None) -> VectorHits:
        if len(self.sorted_keys) == 0:
            return VectorHits(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32))
        want = k if allowed is None else k * FILTER_OVERSAMPLE
        try:
            keys, distances = self.graph.search(query, min(want, len(self.sorted_keys)), max(EXPANSION_SEARCH, want))
        except RuntimeError:  # the graph could not reach that many live elements: score the rows exactly
            return self._exact_over(query, k, allowed)
        rows = self._rows_of(keys)
        scores = (1.0 - distances).astype(np.float32)
        known = rows >= 0
        rows, scores = rows[known], scores[known]
        if allowed is None:
            return VectorHits(rows[:k], scores[:k])
        keep = allowed[rows]
        if int(keep.sum()) >= k:
            return VectorHits(rows[keep][:k], scores[keep][:k])
        return self._exact_over(query, k, allowed)

    def _exact_over(self, query: Floats, k: int, allowed: npt.NDArray[np.bool_] | None) -> VectorHits:
        """A filter so narrow the graph's neighbourhood misses it: score the allowed rows' stored vectors exactly."""
        keys, rows = self.sorted_keys, self.sorted_rows
        if allowed is not None:
            keep = allowed[rows]
            keys, rows = keys[keep], rows[keep]
        if len(keys) == 0:
            return VectorHits(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32))
        return _best(self.graph.vectors(keys) @ query, rows, k)

    def memory_bytes(self) -> int:
        return int(self.graph.memory_bytes() + self.sorted_keys.nbytes + self.sorted_rows.nbytes)


def new_graph(dim: int, capacity: int = 1) -> HnswGraph:
    return HnswGraph.new(dim, capacity)


def repair_graph(graph: HnswGraph, keys: Keys, matrix: Floats) -> tuple[int, int]:
    """Make `graph` hold exactly `keys` (vectors in `matrix`, same order): remove stale keys, add missing ones.
    Returns (removed, added)."""
    return graph.repair(keys, matrix)

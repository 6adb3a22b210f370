"""The HNSW vector index of large datasets: recall against exact search, the graph saved beside a SQLite database and
repaired (not rebuilt) when the rows change, torn files rebuilt, edited chunks re-keyed, filters honoured, and the
processes of one host building a dataset's graph once between them."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from kawa.knowledge.graph_files import GraphFiles
from kawa.knowledge.index import DatasetIndex, IndexedChunk, VectorPolicy, build_index
from kawa.knowledge.vector_index import ExactVectors

DIM = 64


def vectors(n: int, seed: int = 1) -> npt.NDArray[np.float32]:
    """Unit vectors with structure (8 latent factors plus noise), like embeddings."""
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((n, 8)).astype(np.float32) @ rng.standard_normal((8, DIM)).astype(np.float32)
    out += 0.4 * rng.standard_normal((n, DIM)).astype(np.float32)
    normalised: npt.NDArray[np.float32] = out / np.linalg.norm(out, axis=1, keepdims=True)
    return normalised


def build(ids: list[str], matrix: npt.NDArray[np.float32], files: GraphFiles | None, revision: int = 1) -> DatasetIndex:
    chunks = [IndexedChunk(i, "doc", None) for i in ids]
    blobs: list[bytes | None] = [row.tobytes() for row in matrix]
    policy = VectorPolicy(ann_min_chunks=0, files=files)
    return build_index("ds", revision, chunks, [f"text {i}" for i in ids], blobs, policy)


def nearest(index: DatasetIndex, query: npt.NDArray[np.float32], k: int = 10) -> list[str]:
    return [index.chunks[r].segment_id for r in index.vector_hits(query.tolist(), k).rows]


def test_hnsw_recall_at_10_against_exact_search() -> None:
    matrix = vectors(3000)
    index = build([f"c{i}" for i in range(3000)], matrix, None)
    assert index.graph is not None
    exact = ExactVectors(matrix, np.arange(3000, dtype=np.intp))
    queries = vectors(100, seed=2)
    recall = np.mean(
        [
            len(set(index.vector_hits(q.tolist(), 10).rows.tolist()) & set(exact.search(q, 10, None).rows.tolist()))
            / 10
            for q in queries
        ]
    )
    assert recall >= 0.95


def test_below_the_threshold_search_is_exact() -> None:
    matrix = vectors(50)
    chunks = [IndexedChunk(f"c{i}", "doc", None) for i in range(50)]
    index = build_index("ds", 1, chunks, ["t"] * 50, [r.tobytes() for r in matrix], VectorPolicy(ann_min_chunks=51))
    assert index.graph is None
    assert nearest(index, matrix[7], 1) == ["c7"]


def test_saved_graph_is_repaired_to_the_rows_on_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files = GraphFiles(tmp_path / "kawa.db.vectors")
    matrix = vectors(600)
    ids = [f"c{i}" for i in range(600)]
    build(ids[:500], matrix[:500], files)
    assert files.size("ds") > 0
    # Another process (or this one after a restart) sees rows 100..599: 100 gone, 100 new.
    caplog.set_level(logging.INFO, logger="kawa.knowledge")
    index = build(ids[100:], matrix[100:], files, revision=2)
    assert "loaded and repaired: 500 vectors (100 added, 100 removed)" in caplog.text
    assert nearest(index, matrix[550], 1) == ["c550"]
    assert "c5" not in nearest(index, matrix[5], 20)
    saved = files.load("ds", DIM)
    assert saved is not None and len(saved) == 500


def test_an_edited_chunk_is_found_by_its_new_vector(tmp_path: Path) -> None:
    files = GraphFiles(tmp_path / "kawa.db.vectors")
    matrix = vectors(300)
    ids = [f"c{i}" for i in range(300)]
    build(ids, matrix, files)
    edited = matrix.copy()
    edited[3] = vectors(1, seed=99)[0]  # the same chunk id, re-embedded after its text changed
    index = build(ids, edited, files, revision=2)
    assert nearest(index, edited[3], 1) == ["c3"]
    assert "c3" not in nearest(index, matrix[3], 3)


def test_a_torn_graph_file_is_rebuilt_from_the_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files = GraphFiles(tmp_path / "kawa.db.vectors")
    files.directory.mkdir(parents=True)
    files.path("ds").write_bytes(b"not a graph" * 10)
    matrix = vectors(200)
    caplog.set_level(logging.INFO, logger="kawa.knowledge")
    index = build([f"c{i}" for i in range(200)], matrix, files)
    assert "built: 200 vectors" in caplog.text
    assert nearest(index, matrix[42], 1) == ["c42"]


def test_a_changed_embedding_dimension_builds_a_new_graph(tmp_path: Path) -> None:
    files = GraphFiles(tmp_path / "kawa.db.vectors")
    build([f"c{i}" for i in range(100)], vectors(100), files)
    wider = np.hstack([vectors(100, seed=5), vectors(100, seed=6)]) / np.sqrt(2)
    chunks = [IndexedChunk(f"c{i}", "doc", None) for i in range(100)]
    index = build_index(
        "ds", 2, chunks, ["t"] * 100, [r.astype(np.float32).tobytes() for r in wider], VectorPolicy(0, files)
    )
    assert index.dim == 2 * DIM
    assert index.graph is not None and index.graph.ndim == 2 * DIM
    assert index.vector_hits(wider[9].tolist(), 1).rows.tolist() == [9]


def test_a_filter_only_returns_allowed_rows_even_when_they_are_far() -> None:
    matrix = vectors(2000)
    index = build([f"c{i}" for i in range(2000)], matrix, None)
    allowed = np.zeros(2000, dtype=bool)
    allowed[[3, 1500, 1999]] = True
    hits = index.vector_hits(matrix[10].tolist(), 10, allowed)
    assert sorted(hits.rows.tolist()) == [3, 1500, 1999]


def _build_in_process(directory: str) -> list[str]:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("kawa.knowledge")
    logger.setLevel(logging.INFO)
    logger.addHandler(Keep())
    index = build([f"c{i}" for i in range(1500)], vectors(1500), GraphFiles(Path(directory)))
    assert nearest(index, vectors(1500)[77], 1) == ["c77"]
    return records


def test_processes_of_one_host_build_a_dataset_graph_once(tmp_path: Path) -> None:
    directory = str(tmp_path / "kawa.db.vectors")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        logs = pool.map(_build_in_process, [directory, directory])
    messages = [m for log in logs for m in log]
    assert sum("built: 1500 vectors" in m for m in messages) == 1, messages
    assert sum("loaded and repaired: 1500 vectors (0 added, 0 removed)" in m for m in messages) == 1, messages

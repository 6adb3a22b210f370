"""HNSW graphs saved beside the SQLite database (`<database>.vectors/<dataset_id>.hnsw`; with PostgreSQL in
KAWA_HOME/vector-graphs, one copy per host), so a restart loads a dataset's graph and repairs it to the rows instead of
rebuilding it (minutes at 10^6 chunks).

The workers of one host coordinate through a per-dataset `flock`: one builds or repairs and saves (write to a
temporary file, then rename), the others wait and then load what it saved. The rows stay the truth: a graph that does
not match them is repaired by key, an unreadable one is rebuilt.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kawa.knowledge.vector_index import HnswGraph

log = logging.getLogger("kawa.knowledge")


class GraphFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def beside(cls, database_url: str) -> GraphFiles | None:
        """The graph directory of a SQLite file database; None for PostgreSQL or an in-memory SQLite."""
        if not database_url.startswith("sqlite"):
            return None
        path = database_url.split(":///", 1)[-1].split("?", 1)[0]
        if not path or path == ":memory:" or database_url.endswith(":memory:"):
            return None
        return cls(Path(path + ".vectors"))

    def path(self, dataset_id: str) -> Path:
        return self.directory / f"{dataset_id}.hnsw"

    @contextmanager
    def locked(self, dataset_id: str) -> Iterator[None]:
        """Exclusive between the processes of this host for one dataset (blocking; released on exit or crash)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / f"{dataset_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load(self, dataset_id: str, dim: int) -> HnswGraph | None:
        """The saved graph of a dataset, or None when there is none, it is unreadable or of another dimension."""
        path = self.path(dataset_id)
        # A graph saved by kawa before hnswlib (usearch's format, unreadable now): the rows rebuild it.
        (self.directory / f"{dataset_id}.usearch").unlink(missing_ok=True)
        if not path.exists():
            return None
        try:
            return HnswGraph.load(path, dim)  # None for another dimension
        except Exception as exc:  # a torn or foreign file: the rows are the truth, so rebuild
            log.warning("vector index %s is unreadable (%s): rebuilding it", path.name, exc)
            return None

    def save(self, dataset_id: str, graph: HnswGraph) -> None:
        path = self.path(dataset_id)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        graph.save(temporary)
        os.replace(temporary, path)

    def remove(self, dataset_id: str) -> None:
        self.path(dataset_id).unlink(missing_ok=True)

    def size(self, dataset_id: str) -> int:
        path = self.path(dataset_id)
        return path.stat().st_size if path.exists() else 0

"""`StateSampler`: gauges of state that no call site reports — sandbox pools, database pool, Redis links, queue
depths — read every few seconds by each process (so multi-worker scrapes add up live values) and at each scrape."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from kawa.net.reconnect import LinkState
from kawa.sandbox.pool import PoolStatus
from kawa.store.database import Database
from kawa.telemetry.metrics import Metrics

log = logging.getLogger(__name__)
SAMPLE_INTERVAL_S = 5.0
# Documents not yet indexed, whichever process will take them: the depth of the (possibly shared) indexing queue.
_INDEXING_BACKLOG = sa.text(
    "SELECT count(*) FROM dataset_documents WHERE indexing_status IN "
    "('waiting', 'parsing', 'cleaning', 'splitting', 'indexing')"
)


class SandboxPools(Protocol):
    def pool_status(self) -> list[PoolStatus]: ...


@dataclass
class StateSampler:
    metrics: Metrics
    database: Database
    sandbox: SandboxPools | None = None
    redis_links: Mapping[str, Callable[[], LinkState | None]] = field(default_factory=dict)
    queue_depths: Mapping[str, Callable[[], int]] = field(default_factory=dict)  # e.g. H1's group-commit queue
    _task: asyncio.Task[None] | None = None

    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._every(SAMPLE_INTERVAL_S), name="kawa-metrics-sampler")

    async def close(self) -> None:
        """Stop between samples, never inside one: cancelling a database call mid-flight can leave the aiosqlite
        connection waiting forever, which hung the process's shutdown."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _every(self, interval: float) -> None:
        while not self._stopping.is_set():
            try:
                await self.sample()
            except Exception:  # a sampler must never take the server down; the next round tries again
                log.debug("metrics sample failed", exc_info=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def sample(self) -> None:
        metrics = self.metrics
        if self.sandbox is not None:
            for pool in self.sandbox.pool_status():
                for state, value in (("slots", pool.slots), ("alive", pool.alive), ("starting", pool.starting)):
                    metrics.sandbox_workers.labels(pool.language, state).set(value)
        self._database_pool()
        for name, link_of in self.redis_links.items():
            link = link_of()
            if link is not None:
                metrics.redis_up.labels(name).set(1 if link.report().connected else 0)
        for name, depth in self.queue_depths.items():
            metrics.queue_depth.labels(name).set(depth())
        await self._indexing_backlog()

    def _database_pool(self) -> None:
        pool = self.database.engine.pool
        states: Sequence[tuple[str, Callable[[], int]]] = [
            (name, getattr(pool, name))
            for name in ("size", "checkedout", "checkedin", "overflow")
            if hasattr(pool, name)
        ]
        names = {"size": "size", "checkedout": "checked_out", "checkedin": "idle", "overflow": "overflow"}
        for name, read in states:
            self.metrics.db_pool.labels(names[name]).set(max(0, int(read())))

    async def _indexing_backlog(self) -> None:
        try:
            async with self.database.engine.connect() as conn:
                waiting = (await asyncio.wait_for(conn.execute(_INDEXING_BACKLOG), 2.0)).scalar_one()
        except Exception:  # unreachable database: /readyz says so; the gauge keeps its last value
            return
        self.metrics.queue_depth.labels("indexing").set(int(waiting))

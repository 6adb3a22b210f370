"""Records one run as it happens: the run row at start, node executions in batches, the final state at the end.

Batching keeps persistence off the hot path (a short run costs two transactions); in a longer run, changes are
written at most `FLUSH_INTERVAL_S` after they happen, so a crash loses at most that much of its history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from kawa.apps.event_payloads import jsonable
from kawa.store.runs import RUN_FINISH_FIELDS, RunStore
from kawa.store.tables import NodeExecution, WorkflowRun
from kawa.workflow import events as ev

FLUSH_INTERVAL_S = 0.5
SERVER_STOPPED = "The server stopped while this run was in progress."
"""The error of a run cut short by a shutdown (or an unexpected error of its runner)."""
_NodeEvent = ev.NodeStarted | ev.ContainerStarted | ev.NodeFinished | ev.NodeRetry | ev.ContainerCompleted
"""The events that open or close a node execution row."""


class RunRecorder:
    def __init__(self, runs: RunStore, *, run_id: str, app_id: str) -> None:
        self.runs = runs
        self.run_id = run_id
        self.app_id = app_id
        self.run: WorkflowRun | None = None
        self.sequence_number = 0
        self._nodes: dict[str, NodeExecution] = {}
        self._dirty: set[str] = set()
        self._stored: set[str] = set()  # node executions already written (updated, not inserted, from now on)
        self._flush_timer: asyncio.TimerHandle | None = None  # a timer, not a sleeping task: most runs end first
        self._pending_flush: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()  # one write at a time: a flush and the final write touch the same rows

    async def start(self, run: WorkflowRun) -> None:
        self.sequence_number = await self.runs.start(run)
        self.run = run

    async def on_event(self, event: ev.EngineEvent) -> None:
        if isinstance(event, ev.NodeStarted):
            self._open(event)
        elif isinstance(event, ev.ContainerStarted):
            self._open(event, inputs=event.inputs)
        elif isinstance(event, ev.NodeFinished | ev.NodeRetry | ev.ContainerCompleted):
            self._close(event)
        else:
            return
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._flush_due)

    def _flush_due(self) -> None:
        # The final write waits for this flush on the write lock.
        self._pending_flush = asyncio.create_task(self._flush_now(), name=f"flush-run-{self.run_id}")

    async def _flush_now(self) -> None:
        try:
            await self.flush()
        finally:
            self._flush_timer = self._pending_flush = None

    def _open(self, event: _NodeEvent, inputs: Mapping[str, Any] | None = None) -> NodeExecution:
        row = NodeExecution(
            id=event.id,
            workflow_run_id=self.run_id,
            app_id=self.app_id,
            node_id=event.node_id,
            node_type=event.node_type,
            title=event.title,
            index=event.index if isinstance(event, ev.NodeStarted | ev.NodeFinished | ev.NodeRetry) else 1,
            predecessor_node_id=event.predecessor_node_id,
            iteration_id=event.iteration_id,
            loop_id=event.loop_id,
            status="running",
            inputs=jsonable(inputs),
            created_at=event.created_at,
            finished_at=None,
            elapsed_time=0.0,
        )
        self._nodes[event.id] = row
        self._dirty.add(event.id)
        return row

    def _close(self, event: ev.NodeFinished | ev.NodeRetry | ev.ContainerCompleted) -> None:
        row = self._nodes.get(event.id)
        if row is None:  # a finish without a start (defensive): record it whole
            row = self._open(event)
        row.status = event.status
        row.inputs = jsonable(event.inputs)
        row.process_data = None if isinstance(event, ev.ContainerCompleted) else jsonable(event.process_data)
        row.outputs = jsonable(event.outputs)
        row.execution_metadata = jsonable(event.execution_metadata)
        row.error = event.error
        row.elapsed_time = event.elapsed_time
        row.finished_at = event.finished_at
        self._dirty.add(event.id)

    def _take_dirty(self) -> tuple[list[NodeExecution], list[NodeExecution]]:
        """(new, changed) rows to write; called under the write lock, just before the write."""
        new = [self._nodes[i] for i in self._dirty if i not in self._stored]
        changed = [self._nodes[i] for i in self._dirty if i in self._stored]
        self._stored.update(self._dirty)
        self._dirty.clear()
        return new, changed

    async def flush(self) -> None:
        async with self._write_lock:
            await self.runs.save_nodes(*self._take_dirty())

    async def finish(self, finished: ev.WorkflowFinished) -> WorkflowRun:
        assert self.run is not None
        run = self.run
        run.status = finished.status
        run.outputs = jsonable(finished.outputs)
        run.error = finished.error
        run.elapsed_time = finished.elapsed_time
        run.total_tokens = finished.total_tokens
        run.total_steps = finished.total_steps
        run.exceptions_count = finished.exceptions_count
        run.finished_at = finished.finished_at
        await self._write_final(run)
        return run

    async def fail(self, error: str) -> WorkflowRun:
        """End the run `failed` with `error`; nodes still running end `failed` too."""
        assert self.run is not None
        run = self.run
        now = time.time()
        for execution_id, row in self._nodes.items():
            if row.status == "running":
                row.status, row.error, row.finished_at = "failed", error, now
                row.elapsed_time = now - row.created_at
                self._dirty.add(execution_id)
        run.status, run.error, run.finished_at = "failed", error, now
        run.elapsed_time = now - run.created_at
        await self._write_final(run)
        return run

    async def _write_final(self, run: WorkflowRun) -> None:
        if self._flush_timer is not None and self._pending_flush is None:  # not due yet: the final write covers it
            self._flush_timer.cancel()
            self._flush_timer = None
        values = {k: getattr(run, k) for k in RUN_FINISH_FIELDS}
        async with self._write_lock:
            await self.runs.finish(run.id, values, *self._take_dirty())

"""`RunEventLog`: every stream event of a workflow run gets an id (1, 2, … per run, across pauses) and is stored, in
batches, so that a client can re-attach to the run's stream from any process without a gap or a duplicate.

A process keeps the events of the runs it executes in memory until they end (`LiveRun`), so a re-attach there reads
the stored log up to the first event in memory, then the memory, then follows new events as they are published.
A re-attach in another process reads the stored log and polls it for more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kawa.store.durable_runs import DurableRunStore

log = logging.getLogger("kawa.runs")
FLUSH_INTERVAL_S: Final = 0.1
"""How long an event waits, at most, before it is written (with the others of that moment, in one transaction)."""
POLL_INTERVAL_S: Final = 0.1
"""How often a re-attached stream whose run executes in another process reads the log for new events."""
IDLE_CHECK_S: Final = 2.0
"""After this long without a new event, a polling follower checks that the run still runs (or is paused)."""


class LoggedEvent(dict[str, Any]):
    """A stream event (the wire dict) with its id in the run's log; the SSE encoder writes it as `id:`."""

    __slots__ = ("event_id",)

    def __init__(self, event_id: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.event_id = event_id


@dataclass(eq=False)
class LiveRun:
    """The events of one run executing in this process (one segment: from its start or resumption to its end)."""

    run_id: str
    next_seq: int
    backlog: list[LoggedEvent] = field(default_factory=list)
    subscribers: set[asyncio.Queue[LoggedEvent | None]] = field(default_factory=set)
    unflushed: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False


class RunEventLog:
    def __init__(self, store: DurableRunStore) -> None:
        self.store = store
        self._live: dict[str, LiveRun] = {}
        self._dirty: dict[str, LiveRun] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._pollers: dict[str, set[asyncio.Event]] = {}  # followers polling a run that may start here

    # -- writing (the runner of a run)

    def open(self, run_id: str, last_seq: int = 0) -> LiveRun:
        live = LiveRun(run_id, last_seq + 1)
        self._live[run_id] = live
        for poller in self._pollers.get(run_id, ()):
            poller.set()  # a follower waiting for this run switches to its events in memory at once
        return live

    def append(self, live: LiveRun, message: dict[str, Any]) -> LoggedEvent:
        """Give the event its id, send it to followers and have it written within `FLUSH_INTERVAL_S`."""
        event, row = self._numbered(live, message)
        live.unflushed.append(row)
        self._dirty[live.run_id] = live
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon(), name="run-event-log-flush")
        self.release(live, [event])
        return event

    def reserve(self, live: LiveRun, messages: list[dict[str, Any]]) -> tuple[list[LoggedEvent], list[dict[str, Any]]]:
        """Number events whose rows the caller writes in its own transaction; `release` them once it committed."""
        numbered = [self._numbered(live, message) for message in messages]
        return [event for event, _ in numbered], [row for _, row in numbered]

    @staticmethod
    def release(live: LiveRun, events: list[LoggedEvent]) -> None:
        """Make numbered events visible to followers (not before: a token must not reach a client before its
        form is stored)."""
        live.backlog.extend(events)
        for event in events:
            for queue in live.subscribers:
                queue.put_nowait(event)

    @staticmethod
    def _numbered(live: LiveRun, message: dict[str, Any]) -> tuple[LoggedEvent, dict[str, Any]]:
        event = LoggedEvent(live.next_seq, message)
        live.next_seq += 1
        row = {
            "workflow_run_id": live.run_id,
            "seq": event.event_id,
            "event": str(message.get("event", "")),
            "body": json.dumps(message, ensure_ascii=False, separators=(",", ":")),
            "created_at": time.time(),
        }
        return event, row

    @staticmethod
    def take_unflushed(live: LiveRun) -> list[dict[str, Any]]:
        """The rows not written yet, for a caller that writes them in its own transaction (a pause)."""
        rows, live.unflushed = live.unflushed, []
        return rows

    async def close(self, live: LiveRun) -> None:
        """The segment ended: write what is left, then let followers continue from the stored log."""
        rows = self.take_unflushed(live)
        try:
            await self.store.append_events(rows)
        except Exception:
            log.exception("could not store the last %d events of run %s", len(rows), live.run_id)
        live.closed = True
        if self._live.get(live.run_id) is live:
            del self._live[live.run_id]
        for queue in live.subscribers:
            queue.put_nowait(None)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_INTERVAL_S)
        await self.flush()

    async def flush(self) -> None:
        runs, self._dirty = self._dirty, {}
        rows = [row for live in runs.values() for row in self.take_unflushed(live)]
        try:
            await self.store.append_events(rows)
        except Exception:
            log.exception("could not store %d run events", len(rows))

    async def shutdown(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    # -- reading (a re-attached client)

    async def _poll_pause(self, run_id: str) -> None:
        """Wait one poll interval, or less if the run starts (or resumes) in this process meanwhile."""
        woken = asyncio.Event()
        self._pollers.setdefault(run_id, set()).add(woken)
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woken.wait(), POLL_INTERVAL_S)
        finally:
            pollers = self._pollers[run_id]
            pollers.discard(woken)
            if not pollers:
                del self._pollers[run_id]

    async def follow(
        self, run_id: str, after: int, *, still_going: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[LoggedEvent]:
        """Every event of the run with an id above `after`, in order, then new ones as they come, until the caller
        stops at the event it waits for (or `still_going()` says the run ended without it, e.g. its process died).
        No gap, no duplicate."""
        last = after
        idle_since = time.monotonic()
        while True:
            live = self._live.get(run_id)
            if live is None:
                rows = await self.store.events_after(run_id, last)
                for row in rows:
                    last = row.seq
                    yield LoggedEvent(row.seq, json.loads(row.body))
                if rows:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > IDLE_CHECK_S and not await still_going():
                    if not await self.store.events_after(run_id, last, limit=1):
                        return
                else:
                    await self._poll_pause(run_id)
                continue
            queue: asyncio.Queue[LoggedEvent | None] = asyncio.Queue()
            live.subscribers.add(queue)
            backlog = list(live.backlog)
            first_in_memory = backlog[0].event_id if backlog else live.next_seq
            try:
                while last + 1 < first_in_memory:
                    rows = await self.store.events_after(run_id, last, limit=first_in_memory - 1 - last)
                    if not rows:
                        break
                    for row in rows:
                        last = row.seq
                        yield LoggedEvent(row.seq, json.loads(row.body))
                for event in backlog:
                    if event.event_id > last:
                        last = event.event_id
                        yield event
                while (event_or_end := await queue.get()) is not None:
                    if event_or_end.event_id > last:
                        last = event_or_end.event_id
                        yield event_or_end
            finally:
                live.subscribers.discard(queue)

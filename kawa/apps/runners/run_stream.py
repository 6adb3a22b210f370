"""Re-attaching to a run's event stream (`GET /workflow/{id}/events`): from the client's `Last-Event-ID`, or from
the start of the run's current segment (its start or last resumption), through the run's event log, in whichever
process the run executes. A run that has ended answers one `workflow_finished` (Dify's behaviour)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

from kawa.apps.event_payloads import workflow_envelope, workflow_finished_data
from kawa.apps.runners.event_log import LoggedEvent, RunEventLog
from kawa.errors import NotFound
from kawa.store.end_users import EndUserStore
from kawa.store.runs import RunStore

_STATE_EVENTS: Final = frozenset({"node_started", "node_finished"})
_OPEN: Final = frozenset({"running", "paused"})


class RunStreams:
    def __init__(self, *, runs: RunStore, end_users: EndUserStore, events: RunEventLog) -> None:
        self.runs = runs
        self.end_users = end_users
        self.events = events

    async def reattach(
        self,
        *,
        app_id: str,
        app_mode: str,
        run_id: str,
        user: str,
        last_event_id: int | None,
        include_state_snapshot: bool,
        continue_on_pause: bool,
    ) -> AsyncIterator[dict[str, Any]]:
        """Check the run is this end user's (404 otherwise) before the stream starts; then return its events."""
        run = await self.runs.get(run_id, app_id=app_id)
        end_user = await self.end_users.find(app_id, user)
        if run is None or end_user is None or run.end_user_id != end_user.id:
            raise NotFound("Workflow run not found.", code="not_found")
        if last_event_id is None and run.status not in _OPEN:
            finished = workflow_envelope(
                "workflow_finished", workflow_run_id=run.id, task_id=run.task_id, data=workflow_finished_data(run)
            )
            return _single(finished)
        start = last_event_id
        if start is None:
            # A paused run replays its last segment (up to its forms and workflow_paused); a running one starts at
            # its start or resumption, even when that resumption has not logged its first event yet.
            started, paused = await self.events.store.segment_marks(run.id)
            start = max(started - 1, 0) if run.status == "paused" else max(started - 1, paused, 0)
        snapshot = await self._state_snapshot(run.id, start) if include_state_snapshot else []
        terminal = {"workflow_finished", "error"} if app_mode == "workflow" else {"message_end", "error"}
        if not continue_on_pause:
            terminal.add("workflow_paused")
        return self._follow(app_id, run.id, start, snapshot, terminal)

    async def _state_snapshot(self, run_id: str, before: int) -> list[dict[str, Any]]:
        """node_started / node_finished of the nodes that ran before `before` (earlier segments)."""
        replay: list[dict[str, Any]] = []
        last = 0
        while last < before:
            rows = await self.events.store.events_after(run_id, last, limit=min(500, before - last))
            if not rows:
                break
            replay.extend(json.loads(r.body) for r in rows if r.event in _STATE_EVENTS)
            last = rows[-1].seq
        return replay

    async def _follow(
        self, app_id: str, run_id: str, start: int, snapshot: list[dict[str, Any]], terminal: set[str]
    ) -> AsyncIterator[dict[str, Any]]:
        for event in snapshot:
            yield event

        async def still_going() -> bool:
            run = await self.runs.get(run_id, app_id=app_id)
            return run is not None and run.status in _OPEN

        stream: AsyncIterator[LoggedEvent] = self.events.follow(run_id, start, still_going=still_going)
        async for event in stream:
            yield event
            if event.get("event") in terminal:
                return


async def _single(event: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield event

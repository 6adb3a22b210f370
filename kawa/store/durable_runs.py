"""`DurableRunStore`: pausing a run (snapshot, forms, run row and its events in one transaction), claiming a paused
run to resume it (exactly once, by a conditional UPDATE), answering and expiring forms, and the run event log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kawa.store.database import Database
from kawa.store.durable_tables import HumanInputForm, RunEvent, RunPause
from kawa.store.leases import RecordLeases
from kawa.store.runs import table_of
from kawa.store.tables import NodeExecution, WorkflowRun

_FORMS = table_of(HumanInputForm)
_EVENTS = table_of(RunEvent)
_PAUSES = table_of(RunPause)
_RUNS = table_of(WorkflowRun)
_NODES = table_of(NodeExecution)


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    event: str
    body: str


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    run: WorkflowRun
    snapshot: dict[str, Any]
    forms: list[HumanInputForm]
    last_seq: int
    paused_nodes: list[NodeExecution]


class DurableRunStore:
    def __init__(self, db: Database, *, leases: RecordLeases) -> None:
        self.db = db
        self.leases = leases

    # -- the event log

    async def append_events(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            async with self.db.write() as conn:
                await conn.execute(sa.insert(_EVENTS), list(rows))

    async def events_after(self, run_id: str, seq: int, *, limit: int = 500) -> list[EventRow]:
        async with self.db.engine.connect() as conn:
            result = await conn.execute(
                sa.select(_EVENTS.c.seq, _EVENTS.c.event, _EVENTS.c.body)
                .where(_EVENTS.c.workflow_run_id == run_id, _EVENTS.c.seq > seq)
                .order_by(_EVENTS.c.seq)
                .limit(limit)
            )
            return [EventRow(int(r.seq), str(r.event), str(r.body)) for r in result]

    async def segment_marks(self, run_id: str) -> tuple[int, int]:
        """The seqs of the run's last `workflow_started` and last `workflow_paused` events (0 when none)."""
        async with self.db.engine.connect() as conn:
            result = await conn.execute(
                sa.select(_EVENTS.c.event, sa.func.max(_EVENTS.c.seq))
                .where(
                    _EVENTS.c.workflow_run_id == run_id,
                    _EVENTS.c.event.in_(("workflow_started", "workflow_paused")),
                )
                .group_by(_EVENTS.c.event)
            )
            marks = {str(name): int(seq or 0) for name, seq in result}
            return marks.get("workflow_started", 0), marks.get("workflow_paused", 0)

    # -- pausing and resuming

    async def pause(
        self,
        run_id: str,
        *,
        run_values: dict[str, Any],
        snapshot: dict[str, Any],
        forms: Sequence[dict[str, Any]],
        paused_execution_ids: Sequence[str],
        events: Sequence[dict[str, Any]],
    ) -> None:
        """Record the pause at once: new forms, the snapshot, the run `paused` (no lease: no process owns it now),
        its waiting node executions `paused`, and the events logged so far."""
        app_id = str(run_values.pop("app_id"))
        try:
            async with self.db.write() as conn:
                if forms:
                    await conn.execute(sa.insert(_FORMS), list(forms))
                await conn.execute(sa.delete(_PAUSES).where(_PAUSES.c.workflow_run_id == run_id))
                await conn.execute(
                    sa.insert(_PAUSES),
                    [{"workflow_run_id": run_id, "app_id": app_id, "snapshot": snapshot, "created_at": time.time()}],
                )
                if paused_execution_ids:
                    await conn.execute(
                        sa.update(_NODES).where(_NODES.c.id.in_(list(paused_execution_ids))).values(status="paused")
                    )
                if events:
                    await conn.execute(sa.insert(_EVENTS), list(events))
                await conn.execute(
                    sa.update(_RUNS).where(_RUNS.c.id == run_id).values(**run_values, lease_expires_at=None)
                )
        finally:
            self.leases.runs.discard(run_id)

    async def claim(self, run_id: str) -> ClaimedRun | None:
        """Take a paused run to resume it in this process; None when it is not paused (someone else took it)."""
        async with self.db.write() as conn:
            claimed = await conn.scalar(
                sa.update(_RUNS)
                .where(_RUNS.c.id == run_id, _RUNS.c.status == "paused")
                .values(status="running", owner_pid=self.leases.owner, lease_expires_at=self.leases.expiry())
                .returning(_RUNS.c.id)
            )
        if claimed is None:
            return None
        self.leases.runs.add(run_id)
        async with self.db.session() as session:
            run = await session.get(WorkflowRun, run_id)
            pause = await session.get(RunPause, run_id)
            forms = list(
                await session.scalars(sa.select(HumanInputForm).where(HumanInputForm.workflow_run_id == run_id))
            )
            last_seq = await session.scalar(
                sa.select(sa.func.max(RunEvent.seq)).where(RunEvent.workflow_run_id == run_id)
            )
            assert run is not None and pause is not None
            paused_ids = [p["execution_id"] for p in pause.snapshot.get("paused", [])]
            nodes = list(await session.scalars(sa.select(NodeExecution).where(NodeExecution.id.in_(paused_ids))))
        return ClaimedRun(run, pause.snapshot, forms, int(last_seq or 0), nodes)

    async def unclaim(self, run_id: str) -> None:
        """Give a claimed run back (paused, unowned) when it could not be started after all."""
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    sa.update(_RUNS)
                    .where(_RUNS.c.id == run_id, _RUNS.c.status == "running")
                    .values(status="paused", lease_expires_at=None)
                )
        finally:
            self.leases.runs.discard(run_id)

    async def runs_to_resume(self) -> list[str]:
        """Paused runs with an answered or expired form they have not resumed with yet (e.g. a crash in between)."""
        async with self.db.engine.connect() as conn:
            result = await conn.execute(
                sa.select(_FORMS.c.workflow_run_id, _FORMS.c.node_execution_id, _PAUSES.c.snapshot)
                .join(_RUNS, _RUNS.c.id == _FORMS.c.workflow_run_id)
                .join(_PAUSES, _PAUSES.c.workflow_run_id == _FORMS.c.workflow_run_id)
                .where(_RUNS.c.status == "paused", _FORMS.c.status != "waiting")
            )
            due: set[str] = set()
            for run_id, execution_id, snapshot in result:
                if any(p.get("execution_id") == execution_id for p in (snapshot or {}).get("paused", [])):
                    due.add(str(run_id))
            return sorted(due)

    # -- forms

    async def form_by_token(self, token: str) -> HumanInputForm | None:
        async with self.db.session() as session:
            return await session.scalar(sa.select(HumanInputForm).where(HumanInputForm.token == token))

    async def forms_of_run(self, run_id: str) -> list[HumanInputForm]:
        async with self.db.session() as session:
            return list(
                await session.scalars(
                    sa.select(HumanInputForm)
                    .where(HumanInputForm.workflow_run_id == run_id)
                    .order_by(HumanInputForm.created_at)
                )
            )

    async def submit(self, form_id: str, *, action_id: str, data: dict[str, Any], now: float) -> bool:
        """Answer a waiting, unexpired form; False when it was answered or expired first (exactly one wins)."""
        async with self.db.write() as conn:
            won = await conn.scalar(
                sa.update(_FORMS)
                .where(_FORMS.c.id == form_id, _FORMS.c.status == "waiting", _FORMS.c.expiration_time > now)
                .values(status="submitted", action_id=action_id, submitted_data=data, submitted_at=now)
                .returning(_FORMS.c.workflow_run_id)
            )
        return won is not None

    async def expire_due(self, now: float) -> list[str]:
        """Mark every waiting form past its expiration `timeout`; returns the runs to resume (once each)."""
        async with self.db.write() as conn:
            result = await conn.execute(
                sa.update(_FORMS)
                .where(_FORMS.c.status == "waiting", _FORMS.c.expiration_time <= now)
                .values(status="timeout")
                .returning(_FORMS.c.workflow_run_id)
            )
            return sorted({str(row[0]) for row in result})

    async def next_expiration(self) -> float | None:
        async with self.db.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.min(_FORMS.c.expiration_time)).where(_FORMS.c.status == "waiting")
            )
            return float(value) if value is not None else None

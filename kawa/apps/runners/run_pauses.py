"""`RunPauses`: what happens when a run stops at Human Input nodes, and how a paused run comes back.

Pausing writes, in one transaction, the forms (with their tokens), the run's snapshot, the run `paused` and every
event of the run so far, then sends `human_input_required` and `workflow_paused`: a token reaches a client only once
the form behind it is stored, and a resume in any process numbers its events after these. Resuming claims the run
with a conditional UPDATE (`paused` → `running`), so a run resumes exactly once however many submissions, expiries
or processes race for it; the decisions of its forms are read from the database and handed to the engine.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

from kawa.apps.event_payloads import jsonable
from kawa.apps.human_input_payloads import human_input_required_data, workflow_paused_data
from kawa.apps.runners.event_log import LiveRun, LoggedEvent, RunEventLog
from kawa.apps.runners.run_recorder import RunRecorder
from kawa.store.clock import new_id
from kawa.store.durable_runs import ClaimedRun, DurableRunStore
from kawa.store.durable_tables import HumanInputForm
from kawa.store.runs import RunStore
from kawa.store.tables import NodeExecution, WorkflowRun
from kawa.workflow import events as ev
from kawa.workflow.pause import FormDecision, FormSubmitted, FormTimedOut, StaticDecisions

log = logging.getLogger("kawa.runs")
Envelope = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Wraps an event's data for the app's stream (workflow and chatflow envelopes differ)."""


def decisions_of(forms: list[HumanInputForm]) -> StaticDecisions:
    by_execution: dict[str, FormDecision] = {}
    for form in forms:
        if form.status == "submitted":
            by_execution[form.node_execution_id] = FormSubmitted(form.action_id or "", form.submitted_data or {})
        elif form.status == "timeout":
            by_execution[form.node_execution_id] = FormTimedOut(form.expiration_time)
    return StaticDecisions(by_execution)


def resumed_recorder(runs: RunStore, run: WorkflowRun, paused_nodes: list[NodeExecution]) -> RunRecorder:
    """A recorder for a run that resumes: its row and the rows of its paused node executions already exist."""
    recorder = RunRecorder(runs, run_id=run.id, app_id=run.app_id)
    recorder.run = run
    recorder.sequence_number = run.sequence_number
    for row in paused_nodes:
        row.status = "running"
        recorder._nodes[row.id] = row  # the recorder updates, never re-inserts, these rows
        recorder._stored.add(row.id)
    return recorder


class RunPauses:
    def __init__(self, store: DurableRunStore, events: RunEventLog) -> None:
        self.store = store
        self.events = events
        self.resume: Callable[[str], Coroutine[Any, Any, bool]] | None = None
        """Set by the runner that can resume runs (`resume(run_id)` → resumed here)."""
        self.form_created: Callable[[float], None] = lambda _: None
        """Told each new form's expiration time (the expiry timer wakes up earlier if needed)."""
        self._background: set[asyncio.Task[bool]] = set()

    async def pause(
        self,
        run: WorkflowRun,
        paused: ev.WorkflowPaused,
        *,
        live: LiveRun,
        envelope: Envelope,
        deliver: Callable[[LoggedEvent], None],
    ) -> list[HumanInputForm]:
        """Store the pause of `run` and send its events; returns the forms it waits on."""
        now = time.time()
        existing = {f.node_execution_id: f for f in await self.store.forms_of_run(run.id)}
        forms: list[HumanInputForm] = []
        new_rows: list[dict[str, Any]] = []
        for request in paused.forms:
            form = existing.get(request.execution_id)
            if form is None:
                form = HumanInputForm(
                    id=new_id(),
                    token=secrets.token_urlsafe(16),
                    app_id=run.app_id,
                    workflow_run_id=run.id,
                    end_user_id=run.end_user_id,
                    node_id=request.node_id,
                    node_execution_id=request.execution_id,
                    definition={
                        "node_title": request.node_title,
                        "form_content": request.form_content,
                        "inputs": jsonable(list(request.inputs)),
                        "user_actions": jsonable(list(request.actions)),
                        "resolved_default_values": dict(request.resolved_default_values),
                    },
                    status="waiting",
                    expiration_time=now + request.timeout_s,
                    action_id=None,
                    submitted_data=None,
                    submitted_at=None,
                    created_at=now,
                )
                new_rows.append({c.key: getattr(form, c.key) for c in HumanInputForm.__table__.columns})
            forms.append(form)
        run.status = "paused"
        run.outputs = jsonable(paused.outputs)
        run.elapsed_time = paused.elapsed_time
        run.total_tokens = paused.total_tokens
        run.total_steps = paused.total_steps
        messages = [envelope("human_input_required", human_input_required_data(f)) for f in forms]
        messages.append(envelope("workflow_paused", workflow_paused_data(run.id, paused, forms)))
        earlier = self.events.take_unflushed(live)
        logged, rows = self.events.reserve(live, messages)
        await self.store.pause(
            run.id,
            run_values={
                "app_id": run.app_id,
                "status": "paused",
                "outputs": run.outputs,
                "elapsed_time": run.elapsed_time,
                "total_tokens": run.total_tokens,
                "total_steps": run.total_steps,
            },
            snapshot=jsonable(paused.snapshot.to_json()),
            forms=new_rows,
            paused_execution_ids=[p.execution_id for p in paused.snapshot.paused],
            events=[*earlier, *rows],
        )
        self.events.release(live, logged)
        for event in logged:
            deliver(event)
        for row in new_rows:
            self.form_created(float(row["expiration_time"]))
        if any(f.status != "waiting" for f in forms) and self.resume is not None:
            # A form was answered while the run still ran (its claim found the run not paused): resume now.
            task = asyncio.get_running_loop().create_task(self.resume(run.id), name=f"resume-{run.id}")
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return forms

    async def claim(self, run_id: str) -> ClaimedRun | None:
        return await self.store.claim(run_id)

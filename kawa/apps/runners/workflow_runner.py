"""The workflow app runner: a run request → a persisted run whose events stream to the client (or are awaited).

The run executes in its own task under the `TaskSupervisor`, so a client that disconnects neither stops nor leaks
it: the run ends (or is stopped through the stop endpoint, or by its limits) and is recorded like any other.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from kawa.apps.event_payloads import (
    jsonable,
    node_event,
    text_chunk_data,
    workflow_blocking_body,
    workflow_envelope,
    workflow_error_event,
    workflow_finished_data,
    workflow_started_data,
)
from kawa.apps.human_input_payloads import human_input_event
from kawa.apps.inputs.files import resolve_request_files
from kawa.apps.inputs.form import validate_inputs
from kawa.apps.runners.event_log import LiveRun, LoggedEvent, RunEventLog
from kawa.apps.runners.published_workflow import GraphCache, environment_of
from kawa.apps.runners.run_pauses import RunPauses, decisions_of, resumed_recorder
from kawa.apps.runners.run_recorder import SERVER_STOPPED, RunRecorder
from kawa.apps.runners.supervisor import TaskSupervisor
from kawa.apps.runners.task_handle import TaskHandle
from kawa.dsl.document import app_input_variables
from kawa.errors import NotFound, TooManyRequests, client_message
from kawa.settings import Settings
from kawa.store.apps import AppStore
from kawa.store.clock import new_id
from kawa.store.end_users import EndUserStore
from kawa.store.files import UploadFileStore
from kawa.store.runs import RunStore
from kawa.store.tables import App, AppVersion, WorkflowRun
from kawa.workflow import events as ev
from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.pause import RunSnapshot
from kawa.workflow.runtime import EngineLimits, NodeServices
from kawa.workflow.system_variables import SystemVariables
from kawa.workflow.truncation import PayloadLimits

log = logging.getLogger("kawa.runs")


@dataclass(frozen=True)
class WorkflowRunRequest:
    inputs: dict[str, Any]
    user: str
    files: list[dict[str, Any]] | None = None
    version_id: str | None = None
    trace_id: str | None = None
    streaming: bool = False


@dataclass(kw_only=True)
class RunHandle(TaskHandle):
    run_id: str
    workflow_id: str
    events: RunEventLog | None = None
    live: LiveRun | None = None
    """The run's event log while it executes here: every event gets its id there (re-attach, `Last-Event-ID`)."""

    def publish(self, event: str, data: dict[str, Any]) -> None:
        self.put(workflow_envelope(event, workflow_run_id=self.run_id, task_id=self.task_id, data=data))

    def envelope(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        return workflow_envelope(event, workflow_run_id=self.run_id, task_id=self.task_id, data=data)

    def put(self, message: dict[str, Any]) -> None:
        if self.events is not None and self.live is not None:
            message = self.events.append(self.live, message)
        super().put(message)

    def deliver(self, event: LoggedEvent) -> None:
        """Queue an event already in the log (a pause writes its events itself)."""
        super().put(event)


@dataclass(frozen=True)
class _PreparedRun:
    """A run ready to execute: its engine and what the engine starts from."""

    engine: WorkflowEngine
    inputs: dict[str, Any]
    system: SystemVariables
    environment: dict[str, Any]
    secrets: set[str]
    snapshot: RunSnapshot | None = None  # set when resuming a paused run


class WorkflowRunner:
    def __init__(
        self,
        *,
        settings: Settings,
        apps: AppStore,
        end_users: EndUserStore,
        files: UploadFileStore,
        runs: RunStore,
        tasks: TaskSupervisor,
        node_services: NodeServices,
        read_upload: Callable[[str, str], Awaitable[bytes]],
        pauses: RunPauses | None = None,
    ) -> None:
        self.settings = settings
        self.apps = apps
        self.end_users = end_users
        self.files = files
        self.runs = runs
        self.tasks = tasks
        self.node_services = node_services
        self.read_upload = read_upload
        self.pauses = pauses
        if pauses is not None:
            pauses.resume = self.resume
        self.graphs = GraphCache()
        self.limits = EngineLimits(
            max_steps=settings.workflow.max_steps,
            max_wall_time_s=settings.workflow.max_wall_time_s,
            max_depth=settings.workflow.max_depth,
            node_payload=PayloadLimits(max_bytes=settings.workflow.node_payload_max_kb * 1024),
        )

    async def _version(self, app: App, version_id: str | None) -> AppVersion:
        if version_id is None:
            return await self.apps.current_version(app)
        version = await self.apps.version(version_id)
        if version is None or version.app_id != app.id:
            raise NotFound(f"Workflow not found with id: {version_id}")
        return version

    async def start(self, app: App, request: WorkflowRunRequest) -> RunHandle:
        with self.tasks.admit(app.id) as slot:
            await self.tasks.admit_globally(slot)
            version = await self._version(app, request.version_id)
            graph = self.graphs.get(version)
            end_user = await self.end_users.get_or_create(app.id, request.user)
            inputs, sys_files = await resolve_request_files(
                self.settings,
                self.files,
                app_id=app.id,
                end_user_id=end_user.id,
                document=version.document,
                inputs=validate_inputs(app_input_variables(version.document), request.inputs),
                request_files=request.files,
            )
            run_id, task_id = new_id(), new_id()
            handle = RunHandle(task_id=task_id, run_id=run_id, workflow_id=version.id, streaming=request.streaming)
            if self.pauses is not None:
                handle.events, handle.live = self.pauses.events, self.pauses.events.open(run_id)
            recorder = RunRecorder(self.runs, run_id=run_id, app_id=app.id)
            await recorder.start(
                WorkflowRun(
                    id=run_id,
                    app_id=app.id,
                    workflow_id=version.id,
                    task_id=task_id,
                    version=str(version.number),
                    status="running",
                    inputs=jsonable(inputs),
                    outputs=None,
                    end_user_id=end_user.id,
                    trace_id=request.trace_id,
                    created_at=time.time(),
                )
            )
            system = SystemVariables(
                user_id=request.user,
                files=sys_files,
                app_id=app.id,
                workflow_id=version.id,
                workflow_run_id=run_id,
                timestamp=int(time.time()),
            )
            environment, secrets = environment_of(version.document)
            services = replace(self.node_services, file_reader=functools.partial(self.read_upload, app.id))
            engine = WorkflowEngine(graph, services=services, limits=self.limits)
            prepared = _PreparedRun(engine, inputs, system, environment, secrets)

            async def work(stop: asyncio.Event) -> None:
                await self._execute(handle, recorder, prepared, stop)

            return self.tasks.spawn(slot, handle, end_user_id=end_user.id, work=work, name=f"workflow-run-{run_id}")

    async def resume(self, run_id: str) -> bool:
        """Resume a paused run in this process if it is still paused (False when another resume took it)."""
        assert self.pauses is not None
        claimed = await self.pauses.claim(run_id)
        if claimed is None:
            return False
        run = claimed.run
        app = await self.apps.get(run.app_id)
        version = await self.apps.version(run.workflow_id)
        if app is None or version is None:
            recorder = resumed_recorder(self.runs, run, claimed.paused_nodes)
            await self._record_failure(recorder, "The app of this run no longer exists.")
            return True
        handle = RunHandle(task_id=run.task_id, run_id=run.id, workflow_id=version.id, streaming=False)
        handle.events, handle.live = self.pauses.events, self.pauses.events.open(run.id, claimed.last_seq)
        recorder = resumed_recorder(self.runs, run, claimed.paused_nodes)
        environment, secrets = environment_of(version.document)
        services = replace(
            self.node_services,
            file_reader=functools.partial(self.read_upload, app.id),
            human_input=decisions_of(claimed.forms),
        )
        engine = WorkflowEngine(self.graphs.get(version), services=services, limits=self.limits)
        snapshot = RunSnapshot.from_json(claimed.snapshot)
        system = SystemVariables(user_id="", app_id=app.id, workflow_id=version.id, workflow_run_id=run.id)
        prepared = _PreparedRun(engine, dict(snapshot.user_inputs), system, environment, secrets, snapshot)

        async def work(stop: asyncio.Event) -> None:
            await self._execute(handle, recorder, prepared, stop)

        try:
            with self.tasks.admit(app.id) as slot:
                self.tasks.spawn(slot, handle, end_user_id=run.end_user_id or "", work=work, name=f"resume-{run_id}")
        except TooManyRequests:  # the app is busy: the run stays paused; the form timer resumes it later
            await self.pauses.store.unclaim(run_id)
            return False
        return True

    async def _execute(
        self, handle: RunHandle, recorder: RunRecorder, prepared: _PreparedRun, stop: asyncio.Event
    ) -> None:
        try:
            run = await self._run_engine(handle, recorder, prepared, stop)
        except Exception as exc:  # the engine or the store broke: record it truthfully, tell the client
            message = client_message(exc, log=log, context=f"workflow run {handle.run_id}")
            run = await self._record_failure(recorder, message)
            handle.put(workflow_error_event(workflow_run_id=handle.run_id, task_id=handle.task_id, message=message))
        except BaseException:  # cancelled: the server is shutting down and this run did not end in time
            run = await asyncio.shield(self._record_failure(recorder, SERVER_STOPPED))
            handle.put(
                workflow_error_event(workflow_run_id=handle.run_id, task_id=handle.task_id, message=SERVER_STOPPED)
            )
            self._finish(handle, run)
            await self._close_log(handle)
            raise
        if run is not None:
            self._finish(handle, run)
        await self._close_log(handle)

    @staticmethod
    async def _close_log(handle: RunHandle) -> None:
        if handle.events is not None and handle.live is not None:
            await asyncio.shield(handle.events.close(handle.live))

    async def _run_engine(
        self, handle: RunHandle, recorder: RunRecorder, prepared: _PreparedRun, stop: asyncio.Event
    ) -> WorkflowRun | None:
        """Run (or resume) the engine; the run as it ended, or None when it paused (its events are sent)."""
        finished: ev.WorkflowFinished | None = None
        if prepared.snapshot is not None:
            events = prepared.engine.resume(prepared.snapshot, prepared.environment, prepared.secrets, stop)
        else:
            events = prepared.engine.run(
                inputs=prepared.inputs,
                system=prepared.system.pool_values(),
                environment=prepared.environment,
                secret_env_names=prepared.secrets,
                conversation={},
                stop=stop,
            )
        async for event in events:
            if isinstance(event, ev.WorkflowFinished):
                finished = event
                break
            if isinstance(event, ev.WorkflowPaused):
                await self._pause(handle, recorder, event)
                return None
            await recorder.on_event(event)
            if isinstance(event, ev.WorkflowStarted):
                data = workflow_started_data(
                    event,
                    workflow_run_id=handle.run_id,
                    workflow_id=handle.workflow_id,
                    sequence_number=recorder.sequence_number,
                )
                if event.reason == "resumption":
                    data["reason"] = "resumption"
                handle.publish("workflow_started", data)
            elif isinstance(event, ev.TextChunk):
                handle.publish("text_chunk", text_chunk_data(event))
            elif (named := node_event(event) or human_input_event(event)) is not None:
                handle.publish(*named)
        assert finished is not None, "the engine ended without workflow_finished"
        return await recorder.finish(finished)

    async def _pause(self, handle: RunHandle, recorder: RunRecorder, paused: ev.WorkflowPaused) -> None:
        if self.pauses is None or handle.live is None:
            raise RuntimeError("this server cannot pause runs (no durable run store)")
        await recorder.flush()
        assert recorder.run is not None
        run = recorder.run
        await self.pauses.pause(run, paused, live=handle.live, envelope=handle.envelope, deliver=handle.deliver)
        handle.end_stream()
        if not handle.result.done():
            data = workflow_finished_data(run)
            handle.result.set_result(
                workflow_blocking_body(task_id=handle.task_id, workflow_run_id=handle.run_id, finished=data)
            )

    @staticmethod
    async def _record_failure(recorder: RunRecorder, message: str) -> WorkflowRun:
        """Mark the run failed; if even that write fails, its lease lapses and a reaper marks it (see `leases`)."""
        try:
            return await recorder.fail(message)
        except Exception:
            log.exception("could not record the failure of run %s", recorder.run_id)
            assert recorder.run is not None
            return recorder.run

    @staticmethod
    def _finish(handle: RunHandle, run: WorkflowRun) -> None:
        data = workflow_finished_data(run)
        handle.publish("workflow_finished", data)
        handle.end_stream()
        if not handle.result.done():
            handle.result.set_result(
                workflow_blocking_body(task_id=handle.task_id, workflow_run_id=handle.run_id, finished=data)
            )

    async def wait_stopped(self, task_id: str, *, timeout: float) -> None:
        """Return once the task's run has ended (so the stop endpoint answers after the run is really stopped)."""
        await self.tasks.wait_stopped(task_id, timeout=timeout)

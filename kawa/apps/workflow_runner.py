"""The workflow app runner: a run request → a persisted run whose events stream to the client (or are awaited).

The run executes in its own asyncio task, so a client that disconnects neither stops nor leaks it: the run ends
(or is stopped through the stop endpoint, or by its limits) and is recorded like any other.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from kawa.apps.file_inputs import resolve_request_files
from kawa.apps.inputs import validate_inputs
from kawa.apps.run_recorder import RunRecorder
from kawa.apps.task_handle import TaskHandle
from kawa.apps.tasks import TaskRegistry
from kawa.apps.wire import jsonable, node_event
from kawa.dsl.document import app_input_variables
from kawa.errors import KawaError, NotFound, TooManyRequests
from kawa.settings import Settings
from kawa.store.apps import AppStore
from kawa.store.clock import new_id
from kawa.store.end_users import EndUserStore
from kawa.store.files import UploadFileStore
from kawa.store.runs import RunStore
from kawa.store.tables import App, AppVersion, WorkflowRun
from kawa.workflow import events as ev
from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.graph import Graph, compile_graph
from kawa.workflow.runtime import EngineLimits, NodeServices

log = logging.getLogger("kawa.runs")
GRAPH_CACHE_SIZE = 256


@dataclass(frozen=True)
class WorkflowRunRequest:
    inputs: dict[str, Any]
    user: str
    files: list[dict[str, Any]] | None = None
    version_id: str | None = None
    trace_id: str | None = None
    streaming: bool = False


def run_view(run: WorkflowRun) -> dict[str, Any]:
    """The run fields of the blocking response, `workflow_finished` and `GET /workflows/run/:id`."""
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "status": run.status,
        "inputs": run.inputs,
        "outputs": run.outputs,
        "error": run.error,
        "elapsed_time": run.elapsed_time,
        "total_tokens": run.total_tokens,
        "total_steps": run.total_steps,
        "created_at": int(run.created_at),
        "finished_at": int(run.finished_at) if run.finished_at else None,
    }


class GraphCache:
    """Compiled graphs by published version id: a version is immutable, so compile it once."""

    def __init__(self, size: int = GRAPH_CACHE_SIZE) -> None:
        self._graphs: OrderedDict[str, Graph] = OrderedDict()
        self._size = size

    def get(self, version: AppVersion) -> Graph:
        graph = self._graphs.get(version.id)
        if graph is None:
            graph = compile_graph(version.document["workflow"]["graph"])
            self._graphs[version.id] = graph
            if len(self._graphs) > self._size:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(version.id)
        return graph


def environment_of(document: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for variable in (document.get("workflow") or {}).get("environment_variables") or []:
        values[variable["name"]] = variable.get("value")
        if variable.get("value_type") == "secret":
            secrets.add(variable["name"])
    return values, secrets


@dataclass(kw_only=True)
class RunHandle(TaskHandle):
    run_id: str
    workflow_id: str

    def envelope(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"event": name, "workflow_run_id": self.run_id, "task_id": self.task_id, "data": data}

    def publish(self, message: dict[str, Any]) -> None:
        self.put(message)


class WorkflowRunner:
    def __init__(
        self,
        *,
        settings: Settings,
        apps: AppStore,
        end_users: EndUserStore,
        files: UploadFileStore,
        runs: RunStore,
        tasks: TaskRegistry,
        node_services: NodeServices,
        read_upload: Callable[[str, str], Awaitable[bytes]],
    ) -> None:
        self.settings = settings
        self.apps = apps
        self.end_users = end_users
        self.files = files
        self.runs = runs
        self.tasks = tasks
        self.node_services = node_services
        self.read_upload = read_upload
        self.graphs = GraphCache()
        self.limits = EngineLimits(
            max_steps=settings.workflow.max_steps,
            max_wall_time_s=settings.workflow.max_wall_time_s,
            max_depth=settings.workflow.max_depth,
        )
        self._handles: dict[str, RunHandle] = {}

    async def _version(self, app: App, version_id: str | None) -> AppVersion:
        if version_id is None:
            return await self.apps.current_version(app)
        version = await self.apps.version(version_id)
        if version is None or version.app_id != app.id:
            raise NotFound(f"Workflow not found with id: {version_id}")
        return version

    async def start(self, app: App, request: WorkflowRunRequest) -> RunHandle:
        limit = self.settings.max_active_requests
        if limit and self.tasks.running_count(app.id) >= limit:
            raise TooManyRequests(
                f"Too many requests. Please try again later. The current maximum concurrent requests allowed "
                f"for {app.id} is {limit}."
            )
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
        system = {
            "user_id": request.user,
            "files": sys_files,
            "app_id": app.id,
            "workflow_id": version.id,
            "workflow_run_id": run_id,
            "timestamp": int(time.time()),
        }
        environment, secrets = environment_of(version.document)
        services = replace(self.node_services, file_reader=functools.partial(self.read_upload, app.id))
        engine = WorkflowEngine(graph, services=services, limits=self.limits)
        self._handles[task_id] = handle
        registration = self.tasks.register(task_id, app.id, end_user.id)
        running = registration.__enter__()

        async def execute() -> None:
            try:
                await self._execute(handle, recorder, engine, inputs, system, environment, secrets, running.stop)
            finally:
                registration.__exit__(None, None, None)
                self._handles.pop(task_id, None)

        handle.task = asyncio.create_task(execute(), name=f"workflow-run-{run_id}")
        return handle

    async def _execute(
        self,
        handle: RunHandle,
        recorder: RunRecorder,
        engine: WorkflowEngine,
        inputs: dict[str, Any],
        system: dict[str, Any],
        environment: dict[str, Any],
        secrets: set[str],
        stop: asyncio.Event,
    ) -> None:
        finished: ev.WorkflowFinished | None = None
        try:
            async for event in engine.run(
                inputs=inputs,
                system=system,
                environment=environment,
                secret_env_names=secrets,
                conversation={},
                stop=stop,
            ):
                if isinstance(event, ev.WorkflowFinished):
                    finished = event
                    break
                await recorder.on_event(event)
                if isinstance(event, ev.WorkflowStarted):
                    handle.publish(
                        handle.envelope(
                            "workflow_started",
                            {
                                "id": handle.run_id,
                                "workflow_id": handle.workflow_id,
                                "sequence_number": recorder.sequence_number,
                                "inputs": jsonable(event.inputs),
                                "created_at": int(event.created_at),
                            },
                        )
                    )
                elif isinstance(event, ev.TextChunk):
                    handle.publish(
                        handle.envelope(
                            "text_chunk",
                            {
                                "text": event.text,
                                "from_variable_selector": list(event.from_variable_selector),
                            },
                        )
                    )
                elif (named := node_event(event)) is not None:
                    handle.publish(handle.envelope(*named))
            assert finished is not None, "the engine ended without workflow_finished"
            run = await recorder.finish(finished)
        except Exception as exc:  # the engine or the store broke: record it truthfully, tell the client
            log.exception("workflow run %s failed unexpectedly", handle.run_id)
            message = exc.message if isinstance(exc, KawaError) else f"Internal error: {type(exc).__name__}: {exc}"
            run = await self._record_failure(recorder, message)
            handle.publish(
                {
                    "event": "error",
                    "workflow_run_id": handle.run_id,
                    "task_id": handle.task_id,
                    "status": 500,
                    "code": "internal_server_error",
                    "message": message,
                }
            )
        except BaseException:
            await asyncio.shield(self._record_failure(recorder, "The server stopped while this run was in progress."))
            handle.end_stream()
            if not handle.result.done():
                handle.result.cancel()
            raise
        self._finish(handle, run)

    @staticmethod
    async def _record_failure(recorder: RunRecorder, message: str) -> WorkflowRun:
        """Mark the run failed; if even that write fails, the next server start marks it (see RunStore)."""
        try:
            return await recorder.fail(message)
        except Exception:
            log.exception("could not record the failure of run %s", recorder.run_id)
            assert recorder.run is not None
            return recorder.run

    def _finish(self, handle: RunHandle, run: WorkflowRun) -> None:
        view = run_view(run)
        data = {
            **view,
            "outputs": jsonable(view["outputs"]),
            "created_by": {"id": run.end_user_id, "user": None},
            "exceptions_count": run.exceptions_count,
            "files": [],
        }
        data.pop("inputs")
        handle.publish(handle.envelope("workflow_finished", data))
        handle.end_stream()
        blocking = {
            k: data[k]
            for k in (
                "id",
                "workflow_id",
                "status",
                "outputs",
                "error",
                "elapsed_time",
                "total_tokens",
                "total_steps",
                "created_at",
                "finished_at",
            )
        }
        if not handle.result.done():
            handle.result.set_result({"task_id": handle.task_id, "workflow_run_id": handle.run_id, "data": blocking})

    async def wait_stopped(self, task_id: str, *, timeout: float) -> None:
        """Return once the task's run has ended (so the stop endpoint answers after the run is really stopped)."""
        handle = self._handles.get(task_id)
        if handle is not None:
            await handle.wait_done(timeout)

    async def close(self) -> None:
        """Shut down: stop every run of this process and wait for them to be recorded."""
        for handle in list(self._handles.values()):
            if handle.task is not None:
                handle.task.cancel()
        tasks = [h.task for h in self._handles.values() if h.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

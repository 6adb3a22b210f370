"""The Workflow App API: run (blocking or streaming), run a given version, stop, run detail, logs."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from kawa.api.auth import AppAuth, AppAuthDep, ServicesDep
from kawa.api.bodies import JsonBody, blocking_json
from kawa.api.routes.task_stop import StopBody, stop_owned_task
from kawa.api.sse import sse_response
from kawa.apps.event_payloads import run_view
from kawa.apps.runners.workflow_runner import WorkflowRunRequest
from kawa.errors import AppModeMismatch, BadRequest, InvalidParam, NotFound
from kawa.services import Services
from kawa.store.runs import RunLogEntry

router = APIRouter(tags=["workflow"])


class RunBody(BaseModel):
    inputs: dict[str, Any] = Field(description="Values for the start node's variables.")
    response_mode: Literal["blocking", "streaming"] | None = Field(None, description="Default: blocking.")
    user: str = Field(min_length=1, description="The end user's identifier, unique within the app.")
    files: list[dict[str, Any]] | None = Field(None, description="Files for `sys.files`.")
    trace_id: str | None = Field(None, description="Trace id (the X-Trace-Id header and ?trace_id= take precedence).")


async def workflow_app(auth: AppAuthDep) -> AppAuth:
    if auth.app.mode != "workflow":
        raise AppModeMismatch("not_workflow_app")
    return auth


WorkflowAuth = Annotated[AppAuth, Depends(workflow_app)]


async def _run(
    auth: AppAuth, services: Services, body: RunBody, version_id: str | None, trace_id: str | None
) -> Response:
    runner = services.workflow_runner
    request = WorkflowRunRequest(
        inputs=body.inputs,
        user=body.user,
        files=body.files,
        version_id=version_id,
        trace_id=trace_id,
        streaming=body.response_mode == "streaming",
    )
    handle = await runner.start(auth.app, request)
    if request.streaming:
        return sse_response(handle.stream())
    return blocking_json(await handle.blocking_result())


@router.post("/workflows/run", dependencies=[JsonBody], summary="Run the published workflow")
async def run_workflow(
    body: RunBody,
    auth: WorkflowAuth,
    services: ServicesDep,
    x_trace_id: Annotated[str | None, Header()] = None,
    trace_id: Annotated[str | None, Query()] = None,
) -> Response:
    return await _run(auth, services, body, None, x_trace_id or trace_id or body.trace_id)


@router.post("/workflows/{workflow_id}/run", dependencies=[JsonBody], summary="Run a specific published version")
async def run_workflow_version(
    workflow_id: str,
    body: RunBody,
    auth: WorkflowAuth,
    services: ServicesDep,
    x_trace_id: Annotated[str | None, Header()] = None,
    trace_id: Annotated[str | None, Query()] = None,
) -> Response:
    try:
        uuid.UUID(workflow_id)
    except ValueError:
        raise BadRequest(f"Invalid workflow_id format: '{workflow_id}'. ") from None
    return await _run(auth, services, body, workflow_id, x_trace_id or trace_id or body.trace_id)


@router.post("/workflows/tasks/{task_id}/stop", dependencies=[JsonBody], summary="Stop a running task")
async def stop_task(task_id: str, body: StopBody, auth: WorkflowAuth, services: ServicesDep) -> dict[str, str]:
    run = await services.runs.by_task(task_id, app_id=auth.app.id)
    return await stop_owned_task(services, auth.app.id, task_id, body.user, run, services.workflow_runner)


@router.get("/workflows/run/{workflow_run_id}", summary="Detail of one workflow run")
async def get_run(workflow_run_id: str, auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    run = await services.runs.get(workflow_run_id, app_id=auth.app.id)
    if run is None:
        raise NotFound("Workflow run not found.", code="not_found")
    view: dict[str, Any] = run_view(run)
    view["inputs"] = json.dumps(view["inputs"], ensure_ascii=False)
    view["outputs"] = json.dumps(view["outputs"], ensure_ascii=False) if view["outputs"] is not None else None
    return view


def _timestamp(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):  # not a date-time, or one a timestamp cannot hold (year 1, offset -23:59)
        raise InvalidParam(f"{name} must be an ISO 8601 date-time") from None


def _log_row(run: RunLogEntry) -> dict[str, Any]:
    user = run.end_user
    return {
        "id": run.id,
        "workflow_run": {
            "id": run.id,
            "version": run.version,
            "status": run.status,
            "triggered_from": run.triggered_from,
            "error": run.error,
            "elapsed_time": run.elapsed_time,
            "total_tokens": run.total_tokens,
            "total_steps": run.total_steps,
            "created_at": int(run.created_at),
            "finished_at": int(run.finished_at) if run.finished_at else None,
            "exceptions_count": run.exceptions_count,
        },
        "details": None,
        "created_from": "service-api",
        "created_by_role": "end_user",
        "created_by_account": None,
        "created_by_end_user": None
        if user is None
        else {
            "id": user.id,
            "type": "service-api" if user.type == "service_api" else user.type,  # rows written before 0.x
            "is_anonymous": user.is_anonymous,
            "session_id": user.session_id,
        },
        "created_at": int(run.created_at),
    }


@router.get("/workflows/logs", summary="Workflow run logs, newest first")
async def get_logs(
    auth: AppAuthDep,
    services: ServicesDep,
    keyword: str | None = None,
    status: Literal["succeeded", "failed", "stopped", "partial-succeeded", "running"] | None = None,
    page: Annotated[int, Query(ge=1, le=99999)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    created_at__before: str | None = None,
    created_at__after: str | None = None,
    created_by_end_user_session_id: str | None = None,
    created_by_account: str | None = None,
) -> JSONResponse:
    if created_by_account:
        # kawa has no console accounts: every run comes from an end user, so an account filter matches none.
        return JSONResponse({"page": page, "limit": limit, "total": 0, "has_more": False, "data": []})
    result = await services.runs.logs(
        auth.app.id,
        keyword=keyword,
        status=status,
        after=_timestamp(created_at__after, "created_at__after"),
        before=_timestamp(created_at__before, "created_at__before"),
        session_id=created_by_end_user_session_id,
        page=page,
        limit=limit,
    )
    return JSONResponse(
        {
            "page": page,
            "limit": limit,
            "total": result.total,
            "has_more": page * limit < result.total,
            "data": [_log_row(run) for run in result.rows],
        }
    )

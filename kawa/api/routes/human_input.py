"""Human Input forms (`/form/human_input/{form_token}`) and re-attaching to a run's stream
(`/workflow/{workflow_run_id}/events`), for workflow and chatflow apps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.sse import sse_response
from kawa.apps.human_input_forms import HumanInputForms
from kawa.apps.runners.run_stream import RunStreams
from kawa.errors import AppModeMismatch, InvalidParam
from kawa.services import Services

router = APIRouter(tags=["human-input"])
_MODES = ("workflow", "advanced-chat")


class SubmitBody(BaseModel):
    inputs: dict[str, Any] = Field(description="Values by each input's output_variable_name.")
    action: str = Field(description="The id of the chosen action.")
    user: str = Field(min_length=1, description="The end user's identifier.")


def _forms(services: Services) -> HumanInputForms:
    return HumanInputForms(
        settings=services.settings,
        store=services.pauses.store,
        end_users=services.end_users,
        files=services.files,
        resume=services.workflow_runner.resume,
    )


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise AppModeMismatch("app_unavailable")


@router.get("/form/human_input/{form_token}", summary="Get a paused Human Input form")
async def get_form(form_token: str, auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    _check_mode(auth.app.mode)
    return await _forms(services).get(auth.app.id, form_token)


@router.post("/form/human_input/{form_token}", dependencies=[JsonBody], summary="Submit a Human Input form")
async def submit_form(form_token: str, body: SubmitBody, auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    _check_mode(auth.app.mode)
    return await _forms(services).submit(
        auth.app.id, form_token, inputs=body.inputs, action=body.action, user=body.user
    )


@router.get("/workflow/{workflow_run_id}/events", summary="Stream a run's events (re-attach)")
async def stream_events(
    workflow_run_id: str,
    auth: AppAuthDep,
    services: ServicesDep,
    user: Annotated[str, Query(min_length=1)],
    include_state_snapshot: bool = False,
    continue_on_pause: bool = False,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    _check_mode(auth.app.mode)
    after: int | None = None
    if last_event_id:
        try:
            after = int(last_event_id)
        except ValueError:
            raise InvalidParam("Last-Event-ID must be an event id of this stream") from None
    streams = RunStreams(runs=services.runs, end_users=services.end_users, events=services.pauses.events)
    events = await streams.reattach(
        app_id=auth.app.id,
        app_mode=auth.app.mode,
        run_id=workflow_run_id,
        user=user,
        last_event_id=after,
        include_state_snapshot=include_state_snapshot,
        continue_on_pause=continue_on_pause,
    )
    return sse_response(events)

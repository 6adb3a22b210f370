"""Human Input in the workflow WebApp: a paused run's form is submitted by the browser that started the run, and
the page follows the resumed run's events from the last one it saw (the same forms and run log as the Service API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kawa.apps.human_input_forms import HumanInputForms
from kawa.apps.runners.run_stream import RunStreams
from kawa.errors import AppModeMismatch
from kawa.web.event_stream import event_stream
from kawa.web.security import BrowserWriteDep, ServicesDep
from kawa.web.webapp_api import SiteApp

router = APIRouter(prefix="/web-api/{code}")


class FormBody(BaseModel):
    inputs: dict[str, Any] = Field(default_factory=dict)
    action: str
    workflow_run_id: str
    last_event_id: int | None = None


@router.post("/forms/{form_token}")
async def submit_form(
    form_token: str, body: FormBody, app: SiteApp, services: ServicesDep, browser: BrowserWriteDep
) -> Response:
    """Submit the form, then stream the run on from `last_event_id` (the resumed nodes, to the end or next pause)."""
    if app.mode not in ("workflow", "advanced-chat"):
        raise AppModeMismatch("app_unavailable")
    forms = HumanInputForms(
        settings=services.settings,
        store=services.pauses.store,
        end_users=services.end_users,
        files=services.files,
        resume=services.workflow_runner.resume,
    )
    await forms.submit(app.id, form_token, inputs=body.inputs, action=body.action, user=browser.user)
    streams = RunStreams(runs=services.runs, end_users=services.end_users, events=services.pauses.events)
    events = await streams.reattach(
        app_id=app.id,
        app_mode=app.mode,
        run_id=body.workflow_run_id,
        user=browser.user,
        last_event_id=body.last_event_id,
        include_state_snapshot=False,
        continue_on_pause=False,
    )
    return event_stream(events)

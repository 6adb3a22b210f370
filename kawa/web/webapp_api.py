"""The WebApp's JSON API (`/web-api/{code}/...`): what the chat, completion and workflow pages call, with the
browser's cookie as the end user. Each route hands the request to the same runners and stores as the Service API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kawa.apps.runners.chat_runner import MessageRequest
from kawa.apps.runners.workflow_runner import WorkflowRunRequest
from kawa.dsl.document import app_features
from kawa.errors import AppModeMismatch, InvalidParam, NotFound
from kawa.files.upload import UploadReader, require_file
from kawa.services import Services
from kawa.store.web_sites import WebSiteStore
from kawa.web.event_stream import event_stream
from kawa.web.markdown import render_markdown
from kawa.web.security import BrowserWriteDep, ServicesDep, browser_of

router = APIRouter(prefix="/web-api/{code}")
CHAT_MODES = ("advanced-chat", "chat", "agent-chat")


async def site_app(code: str, services: ServicesDep) -> Any:
    """The app behind a WebApp code; a disabled or unknown site is not found."""
    site = await WebSiteStore(services.db).by_code(code)
    app = await services.apps.get(site.app_id) if site is not None and site.enabled else None
    if app is None:
        raise NotFound("The WebApp does not exist or is turned off.", code="app_unavailable")
    return app


SiteApp = Annotated[Any, Depends(site_app)]


async def _end_user_id(services: Services, app_id: str, request: Request) -> str | None:
    end_user = await services.end_users.find(app_id, browser_of(request).user)
    return end_user.id if end_user else None


async def _conversation(services: Services, app: Any, conversation_id: str, request: Request) -> Any:
    try:
        uuid.UUID(conversation_id)
    except ValueError:
        raise NotFound("Conversation Not Exists.") from None
    end_user_id = await _end_user_id(services, app.id, request)
    found = None
    if end_user_id is not None:
        found = await services.conversations.get(conversation_id, app_id=app.id, end_user_id=end_user_id)
    if found is None:
        raise NotFound("Conversation Not Exists.")
    return found


def _conversation_view(c: Any) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "created_at": c.created_at, "updated_at": c.updated_at}


@router.get("/conversations")
async def list_conversations(app: SiteApp, services: ServicesDep, request: Request) -> dict[str, Any]:
    end_user_id = await _end_user_id(services, app.id, request)
    if end_user_id is None:
        return {"data": []}
    rows, _ = await services.conversations.list(
        app_id=app.id, end_user_id=end_user_id, last_id=None, limit=100, sort_by="-updated_at"
    )
    return {"data": [_conversation_view(c) for c in rows]}


@router.get("/conversations/{conversation_id}/messages")
async def conversation_messages(
    conversation_id: str, app: SiteApp, services: ServicesDep, request: Request
) -> dict[str, Any]:
    conversation = await _conversation(services, app, conversation_id, request)
    rows, _ = await services.messages.page(conversation.id, first_id=None, limit=100)
    feedbacks = await services.messages.feedbacks_of([m.id for m in rows])
    return {
        "data": [
            {
                "id": m.id,
                "query": m.query,
                "answer": m.answer,
                "html": render_markdown(m.answer),
                "status": m.status,
                "error": m.error,
                "rating": feedbacks[m.id].rating if m.id in feedbacks else None,
                "agent_thoughts": m.agent_thoughts,
                "retriever_resources": m.retriever_resources,
                "created_at": m.created_at,
            }
            for m in rows
        ]
    }


class RenameBody(BaseModel):
    name: str = Field(min_length=1, max_length=255)


@router.post("/conversations/{conversation_id}/name")
async def rename_conversation(
    conversation_id: str, body: RenameBody, app: SiteApp, services: ServicesDep, request: Request, _b: BrowserWriteDep
) -> dict[str, Any]:
    conversation = await _conversation(services, app, conversation_id, request)
    return _conversation_view(await services.conversations.rename(conversation, body.name.strip()))


@router.delete("/conversations/{conversation_id}")
async def delete_conversation(
    conversation_id: str, app: SiteApp, services: ServicesDep, request: Request, _b: BrowserWriteDep
) -> dict[str, str]:
    conversation = await _conversation(services, app, conversation_id, request)
    await services.conversations.delete(conversation.id)
    return {"result": "success"}


class ChatBody(BaseModel):
    query: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)
    conversation_id: str | None = None
    files: list[dict[str, Any]] | None = None


@router.post("/chat-messages")
async def send_message(app: SiteApp, body: ChatBody, services: ServicesDep, browser: BrowserWriteDep) -> Response:
    completion = app.mode == "completion"
    if not completion and app.mode not in CHAT_MODES:
        raise AppModeMismatch("not_chat_app")
    if not completion and not body.query.strip():
        raise InvalidParam("query is required")
    request = MessageRequest(
        query=body.query,
        inputs=body.inputs,
        user=browser.user,
        streaming=True,
        conversation_id=body.conversation_id or None,
        files=body.files,
        completion=completion,
    )
    handle = await services.chat_runner.start(app, request)
    return event_stream(handle.stream())


class WorkflowBody(BaseModel):
    inputs: dict[str, Any] = Field(default_factory=dict)
    files: list[dict[str, Any]] | None = None


@router.post("/workflows/run")
async def run_workflow(app: SiteApp, body: WorkflowBody, services: ServicesDep, browser: BrowserWriteDep) -> Response:
    if app.mode != "workflow":
        raise AppModeMismatch("not_workflow_app")
    request = WorkflowRunRequest(inputs=body.inputs, user=browser.user, files=body.files, streaming=True)
    handle = await services.workflow_runner.start(app, request)
    return event_stream(handle.stream())


@router.post("/tasks/{task_id}/stop")
async def stop_task(task_id: str, app: SiteApp, services: ServicesDep, browser: BrowserWriteDep) -> dict[str, str]:
    end_user = await services.end_users.find(app.id, browser.user)
    if app.mode == "workflow":
        record: Any = await services.runs.by_task(task_id, app_id=app.id)
        runner: Any = services.workflow_runner
    else:
        record, runner = await services.messages.by_task(task_id, app_id=app.id), services.chat_runner
    if record is None or end_user is None or record.end_user_id != end_user.id:
        raise NotFound("Task not found.", code="task_not_found")
    if record.status == "running":
        await services.tasks.request_stop(task_id, app.id, end_user.id)
        await runner.wait_stopped(task_id, timeout=1.0)
    return {"result": "success"}


class FeedbackBody(BaseModel):
    rating: Literal["like", "dislike"] | None = None


@router.post("/messages/{message_id}/feedbacks")
async def feedback(
    message_id: str, body: FeedbackBody, app: SiteApp, services: ServicesDep, browser: BrowserWriteDep
) -> dict[str, str]:
    message = await services.messages.get(message_id, app_id=app.id)
    end_user = await services.end_users.find(app.id, browser.user)
    if message is None or end_user is None or message.end_user_id != end_user.id:
        raise NotFound("Message Not Exists.")
    await services.messages.set_feedback(message, rating=body.rating, content=None, end_user_id=end_user.id)
    return {"result": "success"}


@router.get("/messages/{message_id}/suggested")
async def suggested(message_id: str, app: SiteApp, services: ServicesDep, request: Request) -> dict[str, Any]:
    message = await services.messages.get(message_id, app_id=app.id)
    end_user_id = await _end_user_id(services, app.id, request)
    if message is None or message.end_user_id != end_user_id:
        raise NotFound("Message Not Exists.")
    version = await services.apps.current_version(app)
    return {"data": await services.suggester(app, version, message)}


@router.post("/files/upload")
async def upload_file(
    app: SiteApp, request: Request, services: ServicesDep, browser: BrowserWriteDep
) -> dict[str, Any]:
    reader = UploadReader(request.headers.get("content-type", ""), services.storage, services.settings.upload)
    form = await reader.read(request.stream())
    try:
        stored = require_file(form)
        end_user = await services.end_users.get_or_create(app.id, browser.user)
        record = await services.files.add(app.id, end_user.id, stored)
    except BaseException:
        await reader.discard()
        raise
    return {"id": record.id, "name": record.name, "size": record.size, "mime_type": record.mime_type}


class SpeakBody(BaseModel):
    message_id: str | None = None
    text: str | None = None


@router.post("/text-to-audio")
async def text_to_audio(app: SiteApp, body: SpeakBody, services: ServicesDep, browser: BrowserWriteDep) -> Response:
    version = await services.apps.current_version(app)
    tts = app_features(version.document).get("text_to_speech") or {}
    if not tts.get("enabled"):
        raise InvalidParam("TTS is not enabled")
    text = body.text
    if body.message_id:
        message = await services.messages.get(body.message_id, app_id=app.id)
        if message is None:
            raise NotFound("Message Not Exists.")
        text = message.answer
    if not text or not text.strip():
        raise InvalidParam("text is required")
    voice = tts.get("voice") or None
    speech = await services.models.synthesize(text, voice=voice if voice not in ("", "default") else None)
    return Response(speech.audio, media_type=speech.mime_type)


@router.post("/audio-to-text")
async def audio_to_text(app: SiteApp, request: Request, services: ServicesDep, _b: BrowserWriteDep) -> dict[str, str]:
    version = await services.apps.current_version(app)
    if not (app_features(version.document).get("speech_to_text") or {}).get("enabled"):
        raise InvalidParam("Speech to text is not enabled for this app.")
    form = await request.form(max_files=1, max_part_size=30 * 1024 * 1024)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidParam("no audio uploaded")
    data = await upload.read()
    if not data:
        raise InvalidParam("no audio uploaded")
    transcript = await services.models.transcribe(data, filename=upload.filename or "audio.webm")
    return {"text": transcript.text}

"""`/chat-messages` and `/completion-messages` (send, stop) for chatflow, chat, agent-chat and completion apps."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from kawa.api.auth import AppAuth, AppAuthDep, ServicesDep
from kawa.api.bodies import JsonBody, blocking_json
from kawa.api.routes.task_stop import StopBody, stop_owned_task
from kawa.api.sse import sse_response
from kawa.apps.runners.chat_runner import MessageRequest
from kawa.errors import AppModeMismatch, BadRequest, InvalidParam, KawaError
from kawa.services import Services

router = APIRouter(tags=["chat"])
CHAT_MODES = ("advanced-chat", "chat", "agent-chat")


class ChatBody(BaseModel):
    query: str = Field(description="The user's message.")
    inputs: dict[str, Any] = Field(description="Values for the app's input variables.")
    response_mode: Literal["blocking", "streaming"] | None = None
    user: str = Field(min_length=1)
    conversation_id: str | None = Field(None, description="Continue this conversation; empty starts a new one.")
    files: list[dict[str, Any]] | None = None
    auto_generate_name: bool = True
    workflow_id: str | None = Field(None, description="Chatflow only: run this published version.")

    @field_validator("conversation_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError("conversation_id must be a valid UUID") from None
        return value


class CompletionBody(BaseModel):
    inputs: dict[str, Any]
    query: str = ""
    response_mode: Literal["blocking", "streaming"] | None = None
    user: str = Field(min_length=1)
    files: list[dict[str, Any]] | None = None


async def chat_app(auth: AppAuthDep) -> AppAuth:
    if auth.app.mode not in CHAT_MODES:
        raise AppModeMismatch("not_chat_app")
    return auth


async def completion_app(auth: AppAuthDep) -> AppAuth:
    if auth.app.mode != "completion":
        raise KawaError("App unavailable, please check your app configurations.", code="app_unavailable", status=400)
    return auth


ChatAuth = Annotated[AppAuth, Depends(chat_app)]
CompletionAuth = Annotated[AppAuth, Depends(completion_app)]


async def _respond(services: Services, auth: AppAuth, request: MessageRequest) -> Response:
    handle = await services.chat_runner.start(auth.app, request)
    if request.streaming:
        return sse_response(handle.stream())
    return blocking_json(await handle.blocking_result())


@router.post("/chat-messages", dependencies=[JsonBody], summary="Send a chat message")
async def send_chat_message(body: ChatBody, auth: ChatAuth, services: ServicesDep) -> Response:
    if not body.query.strip():
        raise InvalidParam("query is required")
    if body.workflow_id:
        try:
            uuid.UUID(body.workflow_id)
        except ValueError:
            raise BadRequest(f"Invalid workflow_id format: '{body.workflow_id}'. ") from None
    request = MessageRequest(
        query=body.query,
        inputs=body.inputs,
        user=body.user,
        streaming=body.response_mode == "streaming",
        conversation_id=body.conversation_id,
        files=body.files,
        auto_generate_name=body.auto_generate_name,
        workflow_id=body.workflow_id,
    )
    return await _respond(services, auth, request)


@router.post("/completion-messages", dependencies=[JsonBody], summary="Send a completion request")
async def send_completion_message(body: CompletionBody, auth: CompletionAuth, services: ServicesDep) -> Response:
    request = MessageRequest(
        query=body.query,
        inputs=body.inputs,
        user=body.user,
        streaming=body.response_mode == "streaming",
        files=body.files,
        completion=True,
    )
    return await _respond(services, auth, request)


async def _stop(task_id: str, body: StopBody, auth: AppAuth, services: Services) -> dict[str, str]:
    message = await services.messages.by_task(task_id, app_id=auth.app.id)
    return await stop_owned_task(services, auth.app.id, task_id, body.user, message, services.chat_runner)


@router.post("/chat-messages/{task_id}/stop", dependencies=[JsonBody], summary="Stop generating a chat message")
async def stop_chat_message(task_id: str, body: StopBody, auth: ChatAuth, services: ServicesDep) -> dict[str, str]:
    return await _stop(task_id, body, auth, services)


@router.post("/completion-messages/{task_id}/stop", dependencies=[JsonBody], summary="Stop a completion")
async def stop_completion(task_id: str, body: StopBody, auth: CompletionAuth, services: ServicesDep) -> dict[str, str]:
    return await _stop(task_id, body, auth, services)

"""Conversations and messages: list, delete, rename, variables, message history and feedback."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.chat import ChatAuth
from kawa.api.routes.conversation_views import app_feedback_view, conversation_view, message_view, variable_view
from kawa.errors import BadRequest, InvalidParam, NotFound
from kawa.services import Services

router = APIRouter(tags=["conversations"])
_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


async def _end_user_id(services: Services, app_id: str, user: str | None) -> str | None:
    end_user = await services.end_users.find(app_id, user or "DEFAULT-USER")
    return end_user.id if end_user else None


async def _conversation_id(services: Services, app_id: str, conversation_id: str, user: str | None) -> str:
    """The id of this end user's conversation; other users' conversations do not exist for them."""
    end_user_id = await _end_user_id(services, app_id, user)
    conversation = None
    if end_user_id is not None:
        conversation = await services.conversations.get(conversation_id, app_id=app_id, end_user_id=end_user_id)
    if conversation is None:
        raise NotFound("Conversation Not Exists.")
    return conversation.id


def _check_uuid(value: str, name: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise InvalidParam(f"{name} must be a valid UUID") from None


@router.get("/messages", summary="Message history of a conversation, oldest first within a page")
async def list_messages(
    auth: ChatAuth,
    services: ServicesDep,
    conversation_id: str,
    user: str | None = None,
    first_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    _check_uuid(conversation_id, "conversation_id")
    owned_id = await _conversation_id(services, auth.app.id, conversation_id, user)
    try:
        rows, has_more = await services.messages.page(owned_id, first_id=first_id or None, limit=limit)
    except LookupError:
        raise NotFound("First Message Not Exists.") from None
    feedbacks = await services.messages.feedbacks_of([m.id for m in rows])
    return JSONResponse(
        {"limit": limit, "has_more": has_more, "data": [message_view(m, feedbacks.get(m.id)) for m in rows]}
    )


class FeedbackBody(BaseModel):
    rating: Literal["like", "dislike"] | None = None
    user: str = Field(min_length=1)
    content: str | None = None


@router.post("/messages/{message_id}/feedbacks", dependencies=[JsonBody], summary="Like, dislike or revoke")
async def message_feedback(
    message_id: str, body: FeedbackBody, auth: AppAuthDep, services: ServicesDep
) -> dict[str, str]:
    message = await services.messages.get(message_id, app_id=auth.app.id)
    end_user_id = await _end_user_id(services, auth.app.id, body.user)
    if message is None or message.end_user_id != end_user_id:
        raise NotFound("Message Not Exists.")
    if not await services.messages.set_feedback(
        message, rating=body.rating, content=body.content, end_user_id=message.end_user_id
    ):
        raise InvalidParam("rating cannot be null: there is no feedback to revoke")
    return {"result": "success"}


@router.get("/app/feedbacks", summary="Feedback given to this app's messages")
async def app_feedbacks(
    auth: AppAuthDep,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=99999)] = 1,
    limit: Annotated[int, Query(ge=1, le=101)] = 20,
) -> JSONResponse:
    rows = await services.messages.app_feedbacks(auth.app.id, page=page, limit=limit)
    return JSONResponse({"data": [app_feedback_view(f) for f in rows]})


@router.get("/messages/{message_id}/suggested", summary="Questions the user may ask next")
async def suggested_questions(message_id: str, auth: ChatAuth, services: ServicesDep, user: str) -> dict[str, Any]:
    message = await services.messages.get(message_id, app_id=auth.app.id)
    end_user_id = await _end_user_id(services, auth.app.id, user)
    if message is None or message.end_user_id != end_user_id:
        raise NotFound("Message Not Exists.")
    version = await services.apps.current_version(auth.app)
    questions = await services.suggester(auth.app, version, message)
    return {"result": "success", "data": questions}


@router.get("/conversations", summary="The user's conversations")
async def list_conversations(
    auth: ChatAuth,
    services: ServicesDep,
    user: str | None = None,
    last_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    sort_by: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-updated_at",
) -> JSONResponse:
    end_user_id = await _end_user_id(services, auth.app.id, user)
    if last_id and (
        end_user_id is None
        or await services.conversations.get(last_id, app_id=auth.app.id, end_user_id=end_user_id) is None
    ):
        raise NotFound("Last Conversation Not Exists.")
    if end_user_id is None:
        return JSONResponse({"limit": limit, "has_more": False, "data": []})
    rows, has_more = await services.conversations.list(
        app_id=auth.app.id, end_user_id=end_user_id, last_id=last_id or None, limit=limit, sort_by=sort_by
    )
    return JSONResponse({"limit": limit, "has_more": has_more, "data": [conversation_view(c) for c in rows]})


class UserBody(BaseModel):
    user: str | None = None


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete a conversation")
async def delete_conversation(
    conversation_id: str, auth: ChatAuth, services: ServicesDep, body: UserBody | None = None
) -> Response:
    owned_id = await _conversation_id(services, auth.app.id, conversation_id, body.user if body else None)
    await services.conversations.delete(owned_id)
    return Response(status_code=204)


class RenameBody(BaseModel):
    name: str | None = None
    auto_generate: bool = False
    user: str | None = None


@router.post("/conversations/{conversation_id}/name", dependencies=[JsonBody], summary="Rename a conversation")
async def rename_conversation(
    conversation_id: str, body: RenameBody, auth: ChatAuth, services: ServicesDep
) -> dict[str, Any]:
    end_user_id = await _end_user_id(services, auth.app.id, body.user)
    conversation = None
    if end_user_id is not None:
        conversation = await services.conversations.get(conversation_id, app_id=auth.app.id, end_user_id=end_user_id)
    if conversation is None:
        raise NotFound("Conversation Not Exists.")
    if body.auto_generate:
        first = await services.messages.page(conversation.id, first_id=None, limit=1)
        history = await services.messages.history(conversation.id, limit=500)
        query = history[0].query if history else (first[0][0].query if first[0] else "")
        version = await services.apps.current_version(auth.app)
        name = await services.chat_runner.namer(auth.app, version, query) if services.chat_runner.namer else query
    elif body.name and body.name.strip():
        name = body.name.strip()
    else:
        raise InvalidParam("name is required when auto_generate is false")
    return conversation_view(await services.conversations.rename(conversation, name[:255]))


@router.get("/conversations/{conversation_id}/variables", summary="Conversation variables (chatflow)")
async def conversation_variables(
    conversation_id: str,
    auth: ChatAuth,
    services: ServicesDep,
    user: str | None = None,
    last_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    variable_name: str | None = None,
) -> JSONResponse:
    if variable_name is not None and not _VARIABLE_NAME.match(variable_name):
        raise InvalidParam("variable_name must be 1-255 characters of letters, digits, '_', '.' and '-'")
    owned_id = await _conversation_id(services, auth.app.id, conversation_id, user)
    rows = await services.conversations.variables(owned_id)
    if variable_name:
        rows = [v for v in rows if variable_name in v.name]
    if last_id:
        ids = [v.id for v in rows]
        if last_id not in ids:
            raise NotFound("Conversation Variable Not Exists.")
        rows = rows[ids.index(last_id) + 1 :]
    return JSONResponse(
        {"limit": limit, "has_more": len(rows) > limit, "data": [variable_view(v) for v in rows[:limit]]}
    )


class VariableBody(BaseModel):
    value: Any
    user: str | None = None


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "float": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array[string]": (list,),
    "array[number]": (list,),
    "array[object]": (list,),
    "array[boolean]": (list,),
}


@router.put(
    "/conversations/{conversation_id}/variables/{variable_id}",
    dependencies=[JsonBody],
    summary="Set a conversation variable",
)
async def update_variable(
    conversation_id: str, variable_id: str, body: VariableBody, auth: ChatAuth, services: ServicesDep
) -> dict[str, Any]:
    owned_id = await _conversation_id(services, auth.app.id, conversation_id, body.user)
    existing = {v.id: v for v in await services.conversations.variables(owned_id)}
    variable = existing.get(variable_id)
    if variable is None:
        raise NotFound("Conversation Variable Not Exists.")
    allowed = _PYTHON_TYPES.get(variable.value_type, (object,))
    if not isinstance(body.value, allowed) or (variable.value_type != "boolean" and isinstance(body.value, bool)):
        raise BadRequest(f"Type mismatch: variable '{variable.name}' expects {variable.value_type}.")
    updated = await services.conversations.set_variable(owned_id, variable_id, body.value)
    assert updated is not None
    return variable_view(updated)

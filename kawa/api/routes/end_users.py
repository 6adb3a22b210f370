"""`GET /end-users/{end_user_id}`: an end user of the key's app (Dify resolves `created_by` ids with it); another
app's end users are not found, as in Dify."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.errors import NotFound

router = APIRouter(tags=["end-users"])


class EndUserNotFound(NotFound):
    code = "end_user_not_found"
    default_message = "End user not found."


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None, microsecond=0).isoformat()


@router.get("/end-users/{end_user_id}", summary="An end user of this app")
async def get_end_user(end_user_id: str, auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    try:
        uuid.UUID(end_user_id)  # Dify's route takes only UUIDs; and a NUL must not reach PostgreSQL
    except ValueError:
        raise EndUserNotFound() from None
    user = await services.end_users.get(end_user_id)
    if user is None or user.app_id != auth.app.id:
        raise EndUserNotFound()
    created = _iso(user.created_at)
    return {
        "id": user.id,
        "tenant_id": user.app_id,  # kawa has no workspaces; its file records use the app as tenant too
        "app_id": user.app_id,
        "type": "service-api",
        "external_user_id": user.session_id,
        "name": None,
        "is_anonymous": user.is_anonymous,
        "session_id": user.session_id,
        "created_at": created,
        "updated_at": created,  # end users never change
    }

"""`POST /files/upload` (streamed into storage) and file previews (by key, or by a signed URL without a key)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.errors import FileNotFound, Forbidden, KawaError
from kawa.files.signing import sign_file_url, verify_file_signature
from kawa.files.upload import UploadReader, require_file
from kawa.services import Services
from kawa.store.end_users import DEFAULT_SESSION_ID
from kawa.store.files import UploadFileRecord

router = APIRouter(tags=["files"])
public_router = APIRouter(tags=["files"])


def upload_file_view(record: UploadFileRecord, services: Services) -> dict[str, Any]:
    settings = services.settings
    # reference, original_url, user_id and file_key are null for Service API uploads in Dify; tenant: kawa's is the app
    return {
        "id": record.id,
        "reference": None,
        "name": record.name,
        "size": record.size,
        "extension": record.extension,
        "mime_type": record.mime_type,
        "created_by": record.end_user_id,
        "created_at": int(record.created_at),
        "preview_url": None,
        "source_url": sign_file_url(settings.base_url, record.id, settings.signing_key()),
        "original_url": None,
        "user_id": None,
        "tenant_id": record.app_id,
        "conversation_id": None,
        "file_key": None,
    }


async def _drain(request: Request, limit: int) -> None:
    """Read (and drop) the rest of a refused body so that the client sees our answer, not a broken pipe; at most
    `limit` bytes (the request-size cap stops it there anyway)."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                return
    except Exception:
        return


@router.post(
    "/files/upload",
    status_code=201,
    summary="Upload a file (multipart `file` + `user`) for use in runs and messages",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}, "user": {"type": "string"}},
                    }
                }
            },
            "required": True,
        }
    },
)
async def upload_file(request: Request, auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    reader = UploadReader(request.headers.get("content-type", ""), services.storage, services.settings.upload)
    try:
        form = await reader.read(request.stream())
    except KawaError:
        await _drain(request, services.settings.max_request_bytes)
        raise
    try:
        stored = require_file(form)
        end_user = await services.end_users.get_or_create(auth.app.id, form.fields.get("user") or None)
        record = await services.files.add(auth.app.id, end_user.id, stored)
    except BaseException:
        await reader.discard()
        raise
    return upload_file_view(record, services)


# Types a browser would run as a page (script in an uploaded HTML or SVG file would act as this origin's): always
# downloaded, never shown inline, as Dify forces for HTML.
ACTIVE_CONTENT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/javascript"}
)
ACTIVE_EXTENSIONS = frozenset({"html", "htm", "xhtml", "svg", "xml", "js", "mjs"})


def _is_active_content(record: UploadFileRecord) -> bool:
    mime = record.mime_type.split(";")[0].strip().lower()
    return mime in ACTIVE_CONTENT_TYPES or record.extension.lower() in ACTIVE_EXTENSIONS


async def _file_response(record: UploadFileRecord, services: Services, as_attachment: bool) -> StreamingResponse:
    headers = {
        "Cache-Control": "public, max-age=3600",
        "Content-Length": str(record.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    media_type = record.mime_type
    if as_attachment or _is_active_content(record):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(record.name)}"
        media_type = "application/octet-stream"
    return StreamingResponse(services.storage.stream(record.storage_key), media_type=media_type, headers=headers)


def _quote(name: str) -> str:
    return quote(name, safe="")


@router.get("/files/{file_id}/preview", summary="Download a file uploaded through this app by the same end user")
async def preview_file(
    file_id: str, auth: AppAuthDep, services: ServicesDep, as_attachment: bool = False, user: str | None = None
) -> StreamingResponse:
    """Only the end user who uploaded a file reads it back (without `user`: the app's default user, as for the
    upload). Others are told it does not exist, as Dify answers for a file outside their messages."""
    record = await services.files.get(file_id, app_id=auth.app.id)
    if record is None:
        raise FileNotFound()
    reader = await services.end_users.find(auth.app.id, user or DEFAULT_SESSION_ID)
    if reader is None or reader.id != record.end_user_id:
        raise FileNotFound()
    return await _file_response(record, services, as_attachment)


@public_router.get("/files/{file_id}/file-preview", summary="Download a file by a signed, expiring URL")
async def signed_preview(
    file_id: str,
    services: ServicesDep,
    timestamp: str = "",
    nonce: str = "",
    sign: str = "",
    as_attachment: bool = False,
) -> StreamingResponse:
    if not verify_file_signature(file_id, timestamp, nonce, sign, services.settings.signing_key()):
        raise Forbidden("Invalid or expired file signature.", code="file_access_denied")
    record = await services.files.get_any(file_id)
    if record is None:
        raise FileNotFound()
    return await _file_response(record, services, as_attachment)

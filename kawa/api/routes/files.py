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
from kawa.store.files import UploadFileRecord

router = APIRouter(tags=["files"])
public_router = APIRouter(tags=["files"])

DRAIN_LIMIT = 128 * 1024 * 1024


def upload_file_view(record: UploadFileRecord, services: Services) -> dict[str, Any]:
    settings = services.settings
    return {
        "id": record.id,
        "name": record.name,
        "size": record.size,
        "extension": record.extension,
        "mime_type": record.mime_type,
        "created_by": record.end_user_id,
        "created_at": int(record.created_at),
        "preview_url": None,
        "source_url": sign_file_url(settings.base_url, record.id, settings.signing_key()),
        "user_id": record.end_user_id,
        "conversation_id": None,
    }


async def _drain(request: Request) -> None:
    """Read (and drop) the rest of a refused body so that the client sees our answer, not a broken pipe."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > DRAIN_LIMIT:
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
        await _drain(request)
        raise
    try:
        stored = require_file(form)
        end_user = await services.end_users.get_or_create(auth.app.id, form.fields.get("user") or None)
        record = await services.files.add(auth.app.id, end_user.id, stored)
    except BaseException:
        await reader.discard()
        raise
    return upload_file_view(record, services)


async def _file_response(record: UploadFileRecord, services: Services, as_attachment: bool) -> StreamingResponse:
    headers = {"Cache-Control": "public, max-age=3600", "Content-Length": str(record.size)}
    media_type = record.mime_type
    if as_attachment:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(record.name)}"
        media_type = "application/octet-stream"
    return StreamingResponse(services.storage.stream(record.storage_key), media_type=media_type, headers=headers)


def _quote(name: str) -> str:
    return quote(name, safe="")


@router.get("/files/{file_id}/preview", summary="Download a file uploaded through this app")
async def preview_file(
    file_id: str, auth: AppAuthDep, services: ServicesDep, as_attachment: bool = False
) -> StreamingResponse:
    record = await services.files.get(file_id, app_id=auth.app.id)
    if record is None:
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

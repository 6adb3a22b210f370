"""Knowledge API, a document's original file: a signed, expiring download URL for one document, the signed download
itself (no key: the signature is the permission), and several documents as one ZIP archive.

Every kawa document keeps the file it was made from (a text document as its `.txt`), so each one can be downloaded.
"""

from __future__ import annotations

import asyncio
import tempfile
import zipfile
from collections.abc import AsyncIterator
from typing import IO, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import Field, StringConstraints

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.params import KnowledgeBody, require_api_dataset
from kawa.errors import Forbidden
from kawa.files.signing import signed_query, verify_file_signature
from kawa.knowledge.errors import DocumentNotFound
from kawa.services import Services

router = APIRouter(prefix="/datasets", tags=["knowledge"])
public_router = APIRouter(tags=["knowledge"])

MAX_ZIP_DOCUMENTS = 100
_SPOOL_BYTES = 16 * 1024 * 1024  # archives up to this size stay in memory, larger ones go to a temporary file
_CHUNK = 64 * 1024

DocumentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ZipRequest(KnowledgeBody):
    document_ids: list[DocumentId] = Field(min_length=1, max_length=MAX_ZIP_DOCUMENTS)


def _subject(dataset_id: str, document_id: str) -> str:
    return f"dataset-document/{dataset_id}/{document_id}"


def _attachment(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/{dataset_id}/documents/{document_id}/download", summary="A signed URL of a document's original file")
async def download_url(dataset_id: str, document_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    document = await services.knowledge.documents.get(dataset_id, document_id)
    settings = services.settings
    query = signed_query(_subject(dataset_id, document.id), settings.signing_key())
    return {"url": f"{settings.base_url}/files/datasets/{dataset_id}/documents/{document.id}/download?{query}"}


@public_router.get(
    "/files/datasets/{dataset_id}/documents/{document_id}/download",
    summary="Download a document's original file by a signed, expiring URL",
)
async def signed_download(
    dataset_id: str,
    document_id: str,
    services: ServicesDep,
    timestamp: str = "",
    nonce: str = "",
    sign: str = "",
) -> StreamingResponse:
    subject = _subject(dataset_id, document_id)
    if not verify_file_signature(subject, timestamp, nonce, sign, services.settings.signing_key()):
        raise Forbidden("Invalid or expired file signature.", code="file_access_denied")
    document = await services.knowledge.documents.get(dataset_id, document_id)
    headers = {"Content-Disposition": _attachment(document.source_filename), "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(
        services.storage.stream(document.storage_key), media_type="application/octet-stream", headers=headers
    )


def _unique(name: str, taken: set[str]) -> str:
    """`a.txt`, then `a (1).txt`, `a (2).txt`...: two documents from files of one name both reach the archive."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate, n = name, 0
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if dot else f"{stem} ({n})"
    taken.add(candidate)
    return candidate


async def _archive(services: Services, files: list[tuple[str, str]]) -> IO[bytes]:
    """A ZIP of (name in archive, storage key) pairs, rewound; built in a thread, spooled to disk when large."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (closed by the response)
    archive = zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED)
    try:
        for name, key in files:
            data = await services.storage.read(key)
            await asyncio.to_thread(archive.writestr, name, data)
        await asyncio.to_thread(archive.close)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


async def _drain(spool: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(spool.read, _CHUNK):
            yield chunk
    finally:
        spool.close()


@router.post(
    "/{dataset_id}/documents/download-zip",
    dependencies=[JsonBody],
    summary="Several documents' original files as one ZIP archive",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def download_zip(
    dataset_id: str, body: ZipRequest, _: DatasetAuthDep, services: ServicesDep
) -> StreamingResponse:
    await require_api_dataset(services, dataset_id)
    dataset = await services.knowledge.datasets.get(dataset_id)
    wanted = list(dict.fromkeys(body.document_ids))
    found = await services.knowledge.documents.documents_by_id(wanted)
    taken: set[str] = set()
    files: list[tuple[str, str]] = []
    for document_id in wanted:
        document = found.get(document_id)
        if document is None or document.dataset_id != dataset_id:
            raise DocumentNotFound()
        files.append((_unique(document.source_filename, taken), document.storage_key))
    spool = await _archive(services, files)
    headers = {"Content-Disposition": _attachment(f"{dataset.name}.zip")}
    return StreamingResponse(_drain(spool), media_type="application/zip", headers=headers)

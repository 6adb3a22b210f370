"""Knowledge API, documents: add or replace one (by text or file, or `PATCH` with a file as Dify documents it today;
indexed in the background), list, read, delete,
indexing status of a batch, and enabling/archiving several at once."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.document_sources import TextDocument, read_file_source, text_source
from kawa.api.routes.knowledge.params import KnowledgeBody, Limit, Page, no_content, require_api_dataset
from kawa.errors import InvalidParam
from kawa.knowledge.errors import DocumentNotFound
from kawa.knowledge.wire import document_detail_view, document_view, indexing_status_view

router = APIRouter(prefix="/datasets", tags=["knowledge"])


class StatusChange(KnowledgeBody):
    document_ids: list[str] = Field(default_factory=list)


@router.patch(
    "/{dataset_id}/documents/status/{action}",
    dependencies=[JsonBody],
    summary="Enable, disable, archive or un-archive documents",
)
async def document_status(
    dataset_id: str,
    action: Literal["enable", "disable", "archive", "un_archive"],
    body: StatusChange,
    _: DatasetAuthDep,
    services: ServicesDep,
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    await services.knowledge.documents.set_enabled(dataset_id, body.document_ids, action)
    return {"result": "success"}


@router.post(
    "/{dataset_id}/document/create_by_text",
    dependencies=[JsonBody],
    summary="Add a document from text; it is indexed in the background",
)
@router.post("/{dataset_id}/document/create-by-text", dependencies=[JsonBody], include_in_schema=False)
async def create_by_text(
    dataset_id: str, body: TextDocument, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    if not body.name:
        raise InvalidParam("name is required")
    if body.text is None:
        raise InvalidParam("text is required")
    source = text_source(body.name, body.text)
    document = await services.knowledge.add_document(
        dataset_id,
        name=body.name,
        data=source.data,
        filename=source.filename,
        mime_type=source.mime_type,
        upload_file=source.upload_file,
        **body.indexing_options(),
    )
    return {"document": document_view(document), "batch": document.batch}


@router.post(
    "/{dataset_id}/document/create_by_file",
    summary="Add a document from a file (multipart `file` + `data` JSON); it is parsed and indexed in the background",
)
@router.post("/{dataset_id}/document/create-by-file", include_in_schema=False)
async def create_by_file(dataset_id: str, request: Request, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    source, options = await read_file_source(request, services)
    document = await services.knowledge.add_document(
        dataset_id,
        name=options.name or source.filename,
        data=source.data,
        filename=source.filename,
        mime_type=source.mime_type,
        upload_file=source.upload_file,
        **options.indexing_options(),
    )
    return {"document": document_view(document), "batch": document.batch}


@router.post(
    "/{dataset_id}/documents/{document_id}/update_by_text",
    dependencies=[JsonBody],
    summary="Replace a document's name and/or text; re-indexed in the background",
)
@router.post("/{dataset_id}/documents/{document_id}/update-by-text", dependencies=[JsonBody], include_in_schema=False)
async def update_by_text(
    dataset_id: str, document_id: str, body: TextDocument, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    if body.text is not None:
        current = await kb.documents.get(dataset_id, document_id)
        source = text_source(body.name or current.name, body.text)
        document = await kb.update_document(
            dataset_id,
            document_id,
            name=body.name,
            data=source.data,
            filename=source.filename,
            mime_type=source.mime_type,
            upload_file=source.upload_file,
            process_rule=body.process_rule,
        )
    else:
        document = await kb.update_document(dataset_id, document_id, name=body.name, process_rule=body.process_rule)
    return {"document": document_view(document), "batch": document.batch}


@router.patch(
    "/{dataset_id}/documents/{document_id}",
    summary="Replace a document's file (multipart `file` + `data` JSON); re-indexed in the background",
)
@router.post(
    "/{dataset_id}/documents/{document_id}/update_by_file",
    summary="Replace a document's file; re-indexed in the background",
)
@router.post("/{dataset_id}/documents/{document_id}/update-by-file", include_in_schema=False)
async def update_by_file(
    dataset_id: str, document_id: str, request: Request, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    source, options = await read_file_source(request, services)
    document = await services.knowledge.update_document(
        dataset_id,
        document_id,
        name=options.name,
        data=source.data,
        filename=source.filename,
        mime_type=source.mime_type,
        upload_file=source.upload_file,
        process_rule=options.process_rule,
    )
    return {"document": document_view(document), "batch": document.batch}


@router.get("/{dataset_id}/documents", summary="List documents")
async def list_documents(
    dataset_id: str,
    _: DatasetAuthDep,
    services: ServicesDep,
    page: Page = 1,
    limit: Limit = 20,
    keyword: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    rows, total = await kb.documents.page(dataset_id, page=page, limit=limit, keyword=keyword, status=status)
    fields = await kb.datasets.fields(dataset_id)
    return {
        "data": [document_view(d, fields) for d in rows],
        "has_more": page * limit < total,
        "limit": limit,
        "total": total,
        "page": page,
    }


@router.get("/{dataset_id}/documents/{batch}/indexing-status", summary="Indexing progress of a batch")
async def indexing_status(dataset_id: str, batch: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    documents = await services.knowledge.documents.batch(dataset_id, batch)
    if not documents:
        raise DocumentNotFound("Documents not found.")
    return {"data": [indexing_status_view(d) for d in documents]}


@router.get("/{dataset_id}/documents/{document_id}", summary="A document")
async def get_document(
    dataset_id: str,
    document_id: str,
    _: DatasetAuthDep,
    services: ServicesDep,
    metadata: Literal["all", "only", "without"] = "all",
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    document = await kb.documents.get(dataset_id, document_id)
    fields = await kb.datasets.fields(dataset_id)
    detail = document_detail_view(document, fields)
    if metadata == "only":
        return {"id": document.id, "doc_type": None, "doc_metadata": detail["doc_metadata"]}
    if metadata == "without":
        detail.pop("doc_metadata")
    return detail


@router.delete("/{dataset_id}/documents/{document_id}", status_code=204, summary="Delete a document")
async def delete_document(dataset_id: str, document_id: str, _: DatasetAuthDep, services: ServicesDep) -> Response:
    await require_api_dataset(services, dataset_id)
    await services.knowledge.delete_document(dataset_id, document_id)
    return no_content()

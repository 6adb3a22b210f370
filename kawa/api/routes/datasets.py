"""The Dify Knowledge API under `/v1/datasets`, authorised by `dataset-` keys: datasets, documents (by text or
file), indexing status, segments and child chunks, retrieval (hit testing) and metadata.

DELETE answers a real `204 No Content` (Dify answers 200 with the body `204`: a quirk kawa fixes).
"""

from __future__ import annotations

import json
import mimetypes
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.routes.workflows import JsonBody
from kawa.errors import InvalidParam
from kawa.knowledge.errors import DatasetApiDisabled, FileTooLarge, NoFileUploaded, TooManyFiles
from kawa.knowledge.types import RetrievalConfig
from kawa.knowledge.wire import (
    child_chunk_view,
    dataset_view,
    document_detail_view,
    document_view,
    hit_testing_record,
    indexing_status_view,
    segment_view,
)
from kawa.services import Services
from kawa.store.clock import new_id
from kawa.store.datasets import BUILT_IN_FIELDS
from kawa.store.knowledge_tables import Dataset

router = APIRouter(prefix="/datasets", tags=["knowledge"])
Page = Annotated[int, Query(ge=1, le=99999)]
Limit = Annotated[int, Query(ge=1, le=100)]


def _no_content() -> Response:
    return Response(status_code=204)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DatasetCreate(_Body):
    name: str
    description: str = ""
    indexing_technique: Literal["high_quality", "economy"] | None = None
    permission: Literal["only_me", "all_team_members", "partial_members"] = "only_me"
    provider: Literal["vendor", "external"] = "vendor"
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class DatasetUpdate(_Body):
    name: str | None = None
    description: str | None = None
    indexing_technique: Literal["high_quality", "economy"] | None = None
    permission: Literal["only_me", "all_team_members", "partial_members"] | None = None
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class DocumentOptions(_Body):
    name: str | None = None
    process_rule: dict[str, Any] | None = None
    doc_form: str | None = None
    doc_language: str | None = None
    indexing_technique: Literal["high_quality", "economy"] | None = None
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class TextDocument(DocumentOptions):
    text: str | None = None


class StatusChange(_Body):
    document_ids: list[str] = Field(default_factory=list)


class SegmentsCreate(_Body):
    segments: list[dict[str, Any]]


class SegmentUpdate(_Body):
    segment: dict[str, Any]


class ChildChunkBody(_Body):
    content: str = Field(min_length=1)


class RetrieveBody(_Body):
    query: str = Field(min_length=1, max_length=250)
    retrieval_model: dict[str, Any] | None = None
    external_retrieval_model: dict[str, Any] | None = None


class MetadataCreate(_Body):
    type: Literal["string", "number", "time"]
    name: str


class MetadataRename(_Body):
    name: str


class DocumentsMetadata(_Body):
    operation_data: list[dict[str, Any]]


def _check_name(name: str | None, description: str | None) -> None:
    if name is not None and not 1 <= len(name) <= 40:
        raise InvalidParam("Name must be between 1 to 40 characters.")
    if description is not None and len(description) > 400:
        raise InvalidParam("Description cannot exceed 400 characters.")


async def _dataset(services: Services, dataset_id: str) -> Dataset:
    dataset = await services.knowledge.datasets.get(dataset_id)
    if not dataset.enable_api:
        raise DatasetApiDisabled()
    return dataset


async def _dataset_json(services: Services, dataset: Dataset) -> dict[str, Any]:
    store = services.knowledge.datasets
    counts = (await store.counts([dataset.id])).get(dataset.id)
    return dataset_view(dataset, counts, await store.fields(dataset.id))


# ---- datasets -----------------------------------------------------------------------------------------------------


@router.get("", summary="List datasets")
async def list_datasets(
    _: DatasetAuthDep, services: ServicesDep, page: Page = 1, limit: Limit = 20, keyword: str | None = None
) -> dict[str, Any]:
    store = services.knowledge.datasets
    rows, total = await store.page(page=page, limit=limit, keyword=keyword)
    counts = await store.counts([d.id for d in rows])
    return {
        "data": [dataset_view(d, counts.get(d.id), await store.fields(d.id)) for d in rows],
        "has_more": page * limit < total,
        "limit": limit,
        "total": total,
        "page": page,
    }


@router.post("", dependencies=[JsonBody], summary="Create an empty dataset")
async def create_dataset(body: DatasetCreate, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    _check_name(body.name, body.description)
    if body.provider == "external":
        raise InvalidParam("External knowledge bases are not supported by kawa.")
    if body.retrieval_model is not None:
        _retrieval_config(body.retrieval_model)
    dataset = await services.knowledge.create_dataset(
        name=body.name,
        description=body.description,
        indexing_technique=body.indexing_technique,
        permission=body.permission,
        retrieval_model=body.retrieval_model,
        embedding_model=body.embedding_model,
        embedding_model_provider=body.embedding_model_provider,
    )
    return dataset_view(dataset)


@router.get("/{dataset_id}", summary="A dataset")
async def get_dataset(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    return await _dataset_json(services, await _dataset(services, dataset_id))


@router.patch("/{dataset_id}", dependencies=[JsonBody], summary="Update a dataset")
async def update_dataset(
    dataset_id: str, body: DatasetUpdate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    _check_name(body.name, body.description)
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    if "retrieval_model" in fields:
        fields["retrieval_model"] = _retrieval_config(fields["retrieval_model"]).model_dump(mode="json")
    dataset = await services.knowledge.datasets.update(dataset_id, fields)
    return await _dataset_json(services, dataset)


@router.delete("/{dataset_id}", status_code=204, summary="Delete a dataset with its documents")
async def delete_dataset(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> Response:
    await _dataset(services, dataset_id)
    await services.knowledge.delete_dataset(dataset_id)
    return _no_content()


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
    await _dataset(services, dataset_id)
    await services.knowledge.documents.set_enabled(dataset_id, body.document_ids, action)
    return {"result": "success"}


# ---- documents ----------------------------------------------------------------------------------------------------


def _text_source(name: str, text: str) -> tuple[bytes, str, dict[str, Any]]:
    data = text.encode()
    filename = name if name.lower().endswith((".txt", ".md", ".markdown")) else name + ".txt"
    return (
        data,
        filename,
        {
            "upload_file_id": new_id(),
            "upload_file": {
                "name": filename,
                "size": len(data),
                "extension": filename.rsplit(".", 1)[-1],
                "mime_type": "text/plain",
            },
        },
    )


@router.post(
    "/{dataset_id}/document/create_by_text",
    dependencies=[JsonBody],
    summary="Add a document from text; it is indexed in the background",
)
@router.post("/{dataset_id}/document/create-by-text", dependencies=[JsonBody], include_in_schema=False)
async def create_by_text(
    dataset_id: str, body: TextDocument, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    if not body.name:
        raise InvalidParam("name is required")
    if body.text is None:
        raise InvalidParam("text is required")
    data, filename, info = _text_source(body.name, body.text)
    document = await services.knowledge.add_document(
        dataset_id,
        name=body.name,
        data=data,
        filename=filename,
        mime_type="text/plain",
        data_source_info=info,
        **_options(body),
    )
    return {"document": document_view(document), "batch": document.batch}


def _options(body: DocumentOptions) -> dict[str, Any]:
    if body.retrieval_model is not None:
        _retrieval_config(body.retrieval_model)
    return {
        "process_rule": body.process_rule,
        "doc_form": body.doc_form,
        "doc_language": body.doc_language,
        "indexing_technique": body.indexing_technique,
        "retrieval_model": body.retrieval_model,
        "embedding_model": body.embedding_model,
        "embedding_model_provider": body.embedding_model_provider,
    }


async def _upload(request: Request, services: Services) -> tuple[bytes, str, str, DocumentOptions]:
    """The multipart `file` and its `data` JSON options."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise NoFileUploaded()
    limit = services.settings.knowledge.upload_mb * 1024 * 1024
    async with request.form(max_files=2, max_fields=10) as form:
        files = form.getlist("file")
        if not files:
            raise NoFileUploaded()
        if len(files) > 1:
            raise TooManyFiles()
        upload = files[0]
        if isinstance(upload, str) or not upload.filename:
            raise InvalidParam("File name is required.") if not isinstance(upload, str) else NoFileUploaded()
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise FileTooLarge(f"File size exceeded. {len(data)} > {limit}")
        raw = form.get("data")
        try:
            options = DocumentOptions.model_validate(json.loads(raw) if isinstance(raw, str) and raw else {})
        except (ValueError, ValidationError) as exc:
            raise InvalidParam(f"data: {exc}") from None
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename)[0] or mime
        return data, upload.filename[:200], mime or "application/octet-stream", options


def _file_info(filename: str, data: bytes, mime: str) -> dict[str, Any]:
    return {
        "upload_file_id": new_id(),
        "upload_file": {
            "name": filename,
            "size": len(data),
            "extension": filename.rsplit(".", 1)[-1].lower() if "." in filename else "",
            "mime_type": mime,
        },
    }


@router.post(
    "/{dataset_id}/document/create_by_file",
    summary="Add a document from a file (multipart `file` + `data` JSON); it is parsed and indexed in the background",
)
@router.post("/{dataset_id}/document/create-by-file", include_in_schema=False)
async def create_by_file(dataset_id: str, request: Request, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    data, filename, mime, options = await _upload(request, services)
    _require_parsable(filename, mime)
    document = await services.knowledge.add_document(
        dataset_id,
        name=options.name or filename,
        data=data,
        filename=filename,
        mime_type=mime,
        data_source_info=_file_info(filename, data, mime),
        **_options(options),
    )
    return {"document": document_view(document), "batch": document.batch}


def _require_parsable(filename: str, mime: str) -> None:
    from kawa.files.extract import UnsupportedFileTypeError, extract_text

    try:
        extract_text(b"", filename=filename, mime_type=mime)
    except UnsupportedFileTypeError as exc:
        raise exc from None
    except Exception:
        pass  # an empty body of a known type may not parse; the real file is parsed in the background


@router.post(
    "/{dataset_id}/documents/{document_id}/update_by_text",
    dependencies=[JsonBody],
    summary="Replace a document's name and/or text; re-indexed in the background",
)
@router.post("/{dataset_id}/documents/{document_id}/update-by-text", dependencies=[JsonBody], include_in_schema=False)
async def update_by_text(
    dataset_id: str, document_id: str, body: TextDocument, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    if body.text is not None:
        current = await kb.documents.get(dataset_id, document_id)
        data, filename, info = _text_source(body.name or current.name, body.text)
        document = await kb.update_document(
            dataset_id,
            document_id,
            name=body.name,
            data=data,
            filename=filename,
            mime_type="text/plain",
            data_source_info=info,
            process_rule=body.process_rule,
        )
    else:
        document = await kb.update_document(dataset_id, document_id, name=body.name, process_rule=body.process_rule)
    return {"document": document_view(document), "batch": document.batch}


@router.post(
    "/{dataset_id}/documents/{document_id}/update_by_file",
    summary="Replace a document's file; re-indexed in the background",
)
@router.post("/{dataset_id}/documents/{document_id}/update-by-file", include_in_schema=False)
async def update_by_file(
    dataset_id: str, document_id: str, request: Request, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    data, filename, mime, options = await _upload(request, services)
    _require_parsable(filename, mime)
    document = await services.knowledge.update_document(
        dataset_id,
        document_id,
        name=options.name,
        data=data,
        filename=filename,
        mime_type=mime,
        data_source_info=_file_info(filename, data, mime),
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
    await _dataset(services, dataset_id)
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
    await _dataset(services, dataset_id)
    documents = await services.knowledge.documents.batch(dataset_id, batch)
    if not documents:
        from kawa.knowledge.errors import DocumentNotFound

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
    await _dataset(services, dataset_id)
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
    await _dataset(services, dataset_id)
    await services.knowledge.delete_document(dataset_id, document_id)
    return _no_content()


# ---- segments and child chunks --------------------------------------------------------------------------------------


@router.post(
    "/{dataset_id}/documents/{document_id}/segments",
    dependencies=[JsonBody],
    summary="Add segments to a document (embedded at once)",
)
async def add_segments(
    dataset_id: str, document_id: str, body: SegmentsCreate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    segments = await kb.add_segments(dataset_id, document_id, body.segments)
    document = await kb.documents.get(dataset_id, document_id)
    children = await kb.documents.children([s.id for s in segments])
    return {"data": [segment_view(s, children.get(s.id)) for s in segments], "doc_form": document.doc_form}


@router.get("/{dataset_id}/documents/{document_id}/segments", summary="List a document's segments")
async def list_segments(
    dataset_id: str,
    document_id: str,
    _: DatasetAuthDep,
    services: ServicesDep,
    page: Page = 1,
    limit: Limit = 20,
    keyword: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    document = await kb.documents.get(dataset_id, document_id)
    rows, total = await kb.documents.segments(document_id, page=page, limit=limit, keyword=keyword, status=status)
    children = await kb.documents.children([s.id for s in rows])
    return {
        "data": [segment_view(s, children.get(s.id)) for s in rows],
        "doc_form": document.doc_form,
        "total": total,
        "has_more": page * limit < total,
        "limit": limit,
        "page": page,
    }


@router.get("/{dataset_id}/documents/{document_id}/segments/{segment_id}", summary="A segment")
async def get_segment(
    dataset_id: str, document_id: str, segment_id: str, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    document = await kb.documents.get(dataset_id, document_id)
    segment = await kb.documents.segment(document_id, segment_id)
    children = await kb.documents.children([segment.id])
    return {"data": segment_view(segment, children.get(segment.id)), "doc_form": document.doc_form}


@router.post(
    "/{dataset_id}/documents/{document_id}/segments/{segment_id}",
    dependencies=[JsonBody],
    summary="Update a segment (content, answer, keywords, enabled)",
)
async def update_segment(
    dataset_id: str, document_id: str, segment_id: str, body: SegmentUpdate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    segment = await kb.update_segment(dataset_id, document_id, segment_id, body.segment)
    document = await kb.documents.get(dataset_id, document_id)
    children = await kb.documents.children([segment.id])
    return {"data": segment_view(segment, children.get(segment.id)), "doc_form": document.doc_form}


@router.delete(
    "/{dataset_id}/documents/{document_id}/segments/{segment_id}", status_code=204, summary="Delete a segment"
)
async def delete_segment(
    dataset_id: str, document_id: str, segment_id: str, _: DatasetAuthDep, services: ServicesDep
) -> Response:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    await kb.documents.get(dataset_id, document_id)
    await kb.documents.delete_segment(await kb.documents.segment(document_id, segment_id))
    return _no_content()


@router.get(
    "/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks", summary="List a segment's child chunks"
)
async def list_child_chunks(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    _: DatasetAuthDep,
    services: ServicesDep,
    page: Page = 1,
    limit: Limit = 20,
    keyword: str | None = None,
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    await kb.documents.get(dataset_id, document_id)
    await kb.documents.segment(document_id, segment_id)
    rows = (await kb.documents.children([segment_id]))[segment_id]
    if keyword:
        rows = [c for c in rows if keyword in c.content]
    total = len(rows)
    chosen = rows[(page - 1) * limit : page * limit]
    return {
        "data": [child_chunk_view(c) for c in chosen],
        "total": total,
        "total_pages": (total + limit - 1) // limit,
        "page": page,
        "limit": limit,
    }


@router.post(
    "/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks",
    dependencies=[JsonBody],
    summary="Add a child chunk",
)
async def add_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunkBody, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    child = await services.knowledge.add_child_chunk(dataset_id, document_id, segment_id, body.content)
    return {"data": child_chunk_view(child)}


@router.patch(
    "/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
    dependencies=[JsonBody],
    summary="Update a child chunk",
)
async def update_child_chunk(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    body: ChildChunkBody,
    _: DatasetAuthDep,
    services: ServicesDep,
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    child = await services.knowledge.update_child_chunk(
        dataset_id, document_id, segment_id, child_chunk_id, body.content
    )
    return {"data": child_chunk_view(child)}


@router.delete(
    "/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
    status_code=204,
    summary="Delete a child chunk",
)
async def delete_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, child_chunk_id: str, _: DatasetAuthDep, services: ServicesDep
) -> Response:
    await _dataset(services, dataset_id)
    kb = services.knowledge
    await kb.documents.get(dataset_id, document_id)
    await kb.documents.delete_child(await kb.documents.child(segment_id, child_chunk_id))
    return _no_content()


# ---- retrieval ----------------------------------------------------------------------------------------------------


def _retrieval_config(raw: dict[str, Any]) -> RetrievalConfig:
    try:
        return RetrievalConfig.model_validate(raw)
    except ValidationError as exc:
        raise InvalidParam(f"retrieval_model: {exc}") from None


@router.post("/{dataset_id}/retrieve", dependencies=[JsonBody], summary="Retrieve segments for a query (hit testing)")
@router.post("/{dataset_id}/hit-testing", dependencies=[JsonBody], include_in_schema=False)
async def retrieve(dataset_id: str, body: RetrieveBody, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    dataset = await _dataset(services, dataset_id)
    config = None
    if body.retrieval_model:
        # Fields the client leaves out keep the dataset's own settings.
        config = _retrieval_config({**(dataset.retrieval_model or {}), **body.retrieval_model})
    hits = await services.knowledge.retrieve([dataset_id], body.query, config)
    return {"query": {"content": body.query}, "records": [hit_testing_record(h) for h in hits]}


# ---- metadata -----------------------------------------------------------------------------------------------------


@router.post("/{dataset_id}/metadata", dependencies=[JsonBody], status_code=201, summary="Add a metadata field")
async def create_metadata(
    dataset_id: str, body: MetadataCreate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    field = await services.knowledge.datasets.create_field(dataset_id, body.name, body.type)
    return {"id": field.id, "type": field.type, "name": field.name}


@router.get("/{dataset_id}/metadata", summary="The dataset's metadata fields with their use counts")
async def list_metadata(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    dataset = await _dataset(services, dataset_id)
    store = services.knowledge.datasets
    counts = await store.field_counts(dataset_id)
    return {
        "doc_metadata": [
            {"id": f.id, "name": f.name, "type": f.type, "count": counts.get(f.name, 0)}
            for f in await store.fields(dataset_id)
        ],
        "built_in_field_enabled": dataset.built_in_field_enabled,
    }


@router.get("/{dataset_id}/metadata/built-in", summary="The built-in metadata fields")
async def built_in_metadata(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    return {"fields": BUILT_IN_FIELDS}


@router.post("/{dataset_id}/metadata/built-in/{action}", summary="Enable or disable the built-in fields")
async def toggle_built_in(
    dataset_id: str, action: Literal["enable", "disable"], _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    await services.knowledge.datasets.update(dataset_id, {"built_in_field_enabled": action == "enable"})
    return {"result": "success"}


@router.patch("/{dataset_id}/metadata/{metadata_id}", dependencies=[JsonBody], summary="Rename a metadata field")
async def rename_metadata(
    dataset_id: str, metadata_id: str, body: MetadataRename, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    field = await services.knowledge.datasets.rename_field(dataset_id, metadata_id, body.name)
    return {"id": field.id, "type": field.type, "name": field.name}


@router.delete("/{dataset_id}/metadata/{metadata_id}", status_code=204, summary="Delete a metadata field")
async def delete_metadata(dataset_id: str, metadata_id: str, _: DatasetAuthDep, services: ServicesDep) -> Response:
    await _dataset(services, dataset_id)
    await services.knowledge.datasets.delete_field(dataset_id, metadata_id)
    return _no_content()


@router.post("/{dataset_id}/documents/metadata", dependencies=[JsonBody], summary="Set documents' metadata values")
async def set_documents_metadata(
    dataset_id: str, body: DocumentsMetadata, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await _dataset(services, dataset_id)
    await services.knowledge.datasets.set_document_values(dataset_id, body.operation_data)
    return {"result": "success"}

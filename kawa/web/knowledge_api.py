"""The console's knowledge API (`/console/api/datasets`): datasets, document upload and indexing progress, the
chunk viewer and retrieval testing, through the knowledge service and views (kawa.knowledge.wire) the Knowledge API
uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kawa.errors import InvalidParam
from kawa.knowledge.wire import dataset_view, document_view, hit_testing_record, segment_view
from kawa.web.security import ConsoleUserDep, ServicesDep

router = APIRouter(prefix="/console/api/datasets")
MAX_DOCUMENT_BYTES = 15 * 1024 * 1024


@router.get("")
async def list_datasets(services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    rows, total = await services.knowledge.datasets.page(page=1, limit=100)
    counts = await services.knowledge.datasets.counts([d.id for d in rows])
    return {"total": total, "data": [dataset_view(d, counts.get(d.id)) for d in rows]}


class DatasetBody(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    description: str = ""


@router.post("")
async def create_dataset(body: DatasetBody, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    dataset = await services.knowledge.create_dataset(
        name=body.name.strip(), description=body.description, indexing_technique="high_quality"
    )
    return dataset_view(dataset)


@router.get("/{dataset_id}")
async def dataset_detail(dataset_id: str, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    dataset = await services.knowledge.datasets.get(dataset_id)
    documents, _ = await services.knowledge.documents.page(dataset_id, page=1, limit=100)
    return {"dataset": dataset_view(dataset), "documents": [document_view(d) for d in documents]}


@router.post("/{dataset_id}/documents")
async def upload_document(
    dataset_id: str, request: Request, services: ServicesDep, _user: ConsoleUserDep
) -> dict[str, Any]:
    await services.knowledge.datasets.get(dataset_id)
    form = await request.form(max_files=1, max_part_size=MAX_DOCUMENT_BYTES + 1)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise InvalidParam("choose a document to upload")
    data = await upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidParam("the document is larger than 15 MB")
    document = await services.knowledge.add_document(
        dataset_id,
        name=upload.filename,
        data=data,
        filename=upload.filename,
        mime_type=upload.content_type,
        indexing_technique="high_quality",
        process_rule={"mode": "automatic"},
    )
    return document_view(document)


@router.get("/{dataset_id}/documents/{document_id}/segments")
async def list_segments(
    dataset_id: str, document_id: str, services: ServicesDep, _user: ConsoleUserDep, page: int = 1
) -> dict[str, Any]:
    await services.knowledge.documents.get(dataset_id, document_id)
    rows, total = await services.knowledge.documents.segments(document_id, page=max(page, 1), limit=50)
    return {"total": total, "page": page, "data": [segment_view(s) for s in rows]}


class RetrieveBody(BaseModel):
    query: str = Field(min_length=1, max_length=250)


@router.post("/{dataset_id}/retrieve")
async def retrieve(dataset_id: str, body: RetrieveBody, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    hits = await services.knowledge.retrieve([dataset_id], body.query)
    return {"records": [hit_testing_record(h) for h in hits]}

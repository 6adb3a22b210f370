"""Knowledge API, segments and child chunks of a document: add, list, read, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.params import KnowledgeBody, Limit, Page, no_content, require_api_dataset
from kawa.knowledge.wire import child_chunk_view, segment_view

router = APIRouter(prefix="/datasets", tags=["knowledge"])
SEGMENT = "/{dataset_id}/documents/{document_id}/segments/{segment_id}"


class SegmentsCreate(KnowledgeBody):
    segments: list[dict[str, Any]]


class SegmentUpdate(KnowledgeBody):
    segment: dict[str, Any]


class ChildChunkBody(KnowledgeBody):
    content: str = Field(min_length=1)


@router.post(
    "/{dataset_id}/documents/{document_id}/segments",
    dependencies=[JsonBody],
    summary="Add segments to a document (embedded at once)",
)
async def add_segments(
    dataset_id: str, document_id: str, body: SegmentsCreate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
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
    await require_api_dataset(services, dataset_id)
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


@router.get(SEGMENT, summary="A segment")
async def get_segment(
    dataset_id: str, document_id: str, segment_id: str, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    document = await kb.documents.get(dataset_id, document_id)
    segment = await kb.documents.segment(document_id, segment_id)
    children = await kb.documents.children([segment.id])
    return {"data": segment_view(segment, children.get(segment.id)), "doc_form": document.doc_form}


@router.post(SEGMENT, dependencies=[JsonBody], summary="Update a segment (content, answer, keywords, enabled)")
async def update_segment(
    dataset_id: str, document_id: str, segment_id: str, body: SegmentUpdate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    segment = await kb.update_segment(dataset_id, document_id, segment_id, body.segment)
    document = await kb.documents.get(dataset_id, document_id)
    children = await kb.documents.children([segment.id])
    return {"data": segment_view(segment, children.get(segment.id)), "doc_form": document.doc_form}


@router.delete(SEGMENT, status_code=204, summary="Delete a segment")
async def delete_segment(
    dataset_id: str, document_id: str, segment_id: str, _: DatasetAuthDep, services: ServicesDep
) -> Response:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    await kb.documents.get(dataset_id, document_id)
    await kb.documents.delete_segment(await kb.documents.segment(document_id, segment_id))
    return no_content()


@router.get(SEGMENT + "/child_chunks", summary="List a segment's child chunks")
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
    await require_api_dataset(services, dataset_id)
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


@router.post(SEGMENT + "/child_chunks", dependencies=[JsonBody], summary="Add a child chunk")
async def add_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunkBody, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    child = await services.knowledge.add_child_chunk(dataset_id, document_id, segment_id, body.content)
    return {"data": child_chunk_view(child)}


@router.patch(SEGMENT + "/child_chunks/{child_chunk_id}", dependencies=[JsonBody], summary="Update a child chunk")
async def update_child_chunk(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    body: ChildChunkBody,
    _: DatasetAuthDep,
    services: ServicesDep,
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    child = await services.knowledge.update_child_chunk(
        dataset_id, document_id, segment_id, child_chunk_id, body.content
    )
    return {"data": child_chunk_view(child)}


@router.delete(SEGMENT + "/child_chunks/{child_chunk_id}", status_code=204, summary="Delete a child chunk")
async def delete_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, child_chunk_id: str, _: DatasetAuthDep, services: ServicesDep
) -> Response:
    await require_api_dataset(services, dataset_id)
    kb = services.knowledge
    await kb.documents.get(dataset_id, document_id)
    await kb.documents.delete_child(await kb.documents.child(segment_id, child_chunk_id))
    return no_content()

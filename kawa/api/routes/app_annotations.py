"""Annotations of an app (`/apps/annotations`) and turning annotation reply on or off (`/apps/annotation-reply`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.errors import InvalidParam, NotFound
from kawa.store.annotations import Annotation

router = APIRouter(tags=["annotations"])
MAX_LIMIT = 100
MAX_PAGE = 1_000_000_000  # keeps the row offset inside a 64-bit integer


class AnnotationBody(BaseModel):
    question: str
    answer: str


class ReplySettingsBody(BaseModel):
    score_threshold: float
    embedding_provider_name: str
    embedding_model_name: str


class AnnotationItem(BaseModel):
    id: str
    question: str | None
    answer: str | None
    hit_count: int | None
    created_at: int | None


class AnnotationList(BaseModel):
    data: list[AnnotationItem]
    has_more: bool = Field(description="A full page came back: there may be more.")
    limit: int
    total: int
    page: int


class ReplyJobStarted(BaseModel):
    job_id: str
    job_status: str = Field(description="`waiting` (a new job) or `processing` (one already under way).")


class ReplyJobStatus(BaseModel):
    job_id: str
    job_status: str = Field(description="`waiting`, `processing`, `completed` or `error`.")
    error_msg: str


def _item(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": annotation.id,
        "question": annotation.question,
        "answer": annotation.answer,
        "hit_count": annotation.hit_count,
        "created_at": int(annotation.created_at),
    }


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@router.post(
    "/apps/annotation-reply/{action}",
    response_model=ReplyJobStarted,
    summary="Enable or disable annotation reply (an asynchronous job)",
    dependencies=[JsonBody],
)
async def configure_reply(
    action: str, body: ReplySettingsBody, auth: AppAuthDep, services: ServicesDep
) -> dict[str, Any]:
    if action not in ("enable", "disable"):
        raise InvalidParam("Unsupported annotation reply action")
    job, status = await services.annotations.start(
        auth.app.id,
        "enable" if action == "enable" else "disable",
        score_threshold=body.score_threshold,
        embedding_provider_name=body.embedding_provider_name,
        embedding_model_name=body.embedding_model_name,
    )
    return {"job_id": job.id, "job_status": status}


@router.get(
    "/apps/annotation-reply/{action}/status/{job_id}",
    response_model=ReplyJobStatus,
    summary="Status of an annotation reply job",
)
async def reply_job_status(action: str, job_id: str, auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    if (key := _uuid(job_id)) is None:
        raise NotFound()
    job = await services.annotations.store.job(auth.app.id, action, key)
    if job is None:
        raise InvalidParam("The job does not exist.")
    return {"job_id": job.id, "job_status": job.status, "error_msg": job.error_msg if job.status == "error" else ""}


@router.get("/apps/annotations", response_model=AnnotationList, summary="The app's annotations, newest first")
async def list_annotations(
    auth: AppAuthDep,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, description="Capped at 100.")] = 20,
    keyword: str = "",
) -> dict[str, Any]:
    limit = min(limit, MAX_LIMIT)
    rows, total = await services.annotations.store.page(auth.app.id, page=page, limit=limit, keyword=keyword)
    return {
        "data": [_item(a) for a in rows],
        "has_more": len(rows) == limit,
        "limit": limit,
        "total": total,
        "page": page,
    }


@router.post(
    "/apps/annotations",
    status_code=201,
    response_model=AnnotationItem,
    summary="Create an annotation",
    dependencies=[JsonBody],
)
async def create_annotation(body: AnnotationBody, auth: AppAuthDep, services: ServicesDep) -> JSONResponse:
    annotation = await services.annotations.create(auth.app.id, body.question, body.answer)
    return JSONResponse(_item(annotation), status_code=201)


@router.put(
    "/apps/annotations/{annotation_id}",
    response_model=AnnotationItem,
    summary="Change an annotation's question and answer",
    dependencies=[JsonBody],
)
async def update_annotation(
    annotation_id: str, body: AnnotationBody, auth: AppAuthDep, services: ServicesDep
) -> dict[str, Any]:
    key = _uuid(annotation_id)
    annotation = None
    if key is not None:
        annotation = await services.annotations.update(auth.app.id, key, body.question, body.answer)
    if annotation is None:
        raise NotFound("Annotation not found")
    return _item(annotation)


@router.delete("/apps/annotations/{annotation_id}", status_code=204, summary="Delete an annotation and its hits")
async def delete_annotation(annotation_id: str, auth: AppAuthDep, services: ServicesDep) -> Response:
    key = _uuid(annotation_id)
    if key is None or not await services.annotations.store.delete(auth.app.id, key):
        raise NotFound("Annotation not found")
    return Response(status_code=204)

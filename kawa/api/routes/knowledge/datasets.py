"""Knowledge API, datasets: list, create, read, update, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.params import (
    KnowledgeBody,
    Limit,
    Page,
    check_api_enabled,
    no_content,
    require_api_dataset,
    retrieval_config,
)
from kawa.errors import InvalidParam
from kawa.knowledge.wire import dataset_view

router = APIRouter(prefix="/datasets", tags=["knowledge"])

Permission = Literal["only_me", "all_team_members", "partial_members"]
IndexingTechnique = Literal["high_quality", "economy"]


class DatasetCreate(KnowledgeBody):
    name: str
    description: str = ""
    indexing_technique: IndexingTechnique | None = None
    permission: Permission = "only_me"
    provider: Literal["vendor", "external"] = "vendor"
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class DatasetUpdate(KnowledgeBody):
    name: str | None = None
    description: str | None = None
    indexing_technique: IndexingTechnique | None = None
    permission: Permission | None = None
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


def _check_name(name: str | None, description: str | None) -> None:
    if name is not None and not 1 <= len(name) <= 40:
        raise InvalidParam("Name must be between 1 to 40 characters.")
    if description is not None and len(description) > 400:
        raise InvalidParam("Description cannot exceed 400 characters.")


@router.get("", summary="List datasets")
async def list_datasets(
    _: DatasetAuthDep,
    services: ServicesDep,
    page: Page = 1,
    limit: Limit = 20,
    keyword: str | None = None,
    tag_ids: Annotated[list[str] | None, Query(description="Only datasets bound to one of these tags")] = None,
) -> dict[str, Any]:
    store, tags = services.knowledge.datasets, services.knowledge.tags
    among = await tags.dataset_ids_tagged(tag_ids) if tag_ids else None
    rows, total = await store.page(page=page, limit=limit, keyword=keyword, among=among)
    ids = [d.id for d in rows]
    counts, tagged = await store.counts(ids), await tags.of_datasets(ids)
    return {
        "data": [dataset_view(d, counts.get(d.id), await store.fields(d.id), tagged.get(d.id)) for d in rows],
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
        retrieval_config(body.retrieval_model)
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
    store = services.knowledge.datasets
    dataset = await store.get(dataset_id)
    check_api_enabled(dataset.enable_api)
    counts = (await store.counts([dataset.id])).get(dataset.id)
    tags = (await services.knowledge.tags.of_datasets([dataset.id])).get(dataset.id)
    return dataset_view(dataset, counts, await store.fields(dataset.id), tags)


@router.patch("/{dataset_id}", dependencies=[JsonBody], summary="Update a dataset")
async def update_dataset(
    dataset_id: str, body: DatasetUpdate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    _check_name(body.name, body.description)
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    if "retrieval_model" in fields:
        fields["retrieval_model"] = retrieval_config(fields["retrieval_model"]).model_dump(mode="json")
    store = services.knowledge.datasets
    dataset = await services.knowledge.update_dataset(dataset_id, fields)
    counts = (await store.counts([dataset.id])).get(dataset.id)
    tags = (await services.knowledge.tags.of_datasets([dataset.id])).get(dataset.id)
    return dataset_view(dataset, counts, await store.fields(dataset.id), tags)


@router.delete("/{dataset_id}", status_code=204, summary="Delete a dataset with its documents")
async def delete_dataset(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> Response:
    await require_api_dataset(services, dataset_id)
    await services.knowledge.delete_dataset(dataset_id)
    return no_content()

"""Knowledge API, tags: create, list, rename and delete knowledge tags, bind them to datasets and unbind them, and the
tags of one dataset. (The dataset list filters by them: `GET /datasets?tag_ids=...`.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field, StringConstraints, model_validator

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.params import KnowledgeBody, no_content, require_api_dataset
from kawa.errors import InvalidParam
from kawa.store.tags import TAG_TYPE, KnowledgeTag

router = APIRouter(prefix="/datasets", tags=["knowledge"])

TagName = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=r"^[^\x00]*$")
]  # no NUL: PostgreSQL text


class TagCreate(KnowledgeBody):
    name: TagName


class TagUpdate(KnowledgeBody):
    tag_id: str
    name: TagName


class TagDelete(KnowledgeBody):
    tag_id: str


class TagBinding(KnowledgeBody):
    tag_ids: list[str]
    target_id: str


class TagUnbinding(KnowledgeBody):
    """`tag_ids`, or the older single `tag_id` Dify still accepts."""

    tag_ids: list[str] = Field(default_factory=list)
    tag_id: str | None = None
    target_id: str

    @model_validator(mode="after")
    def _one_list(self) -> TagUnbinding:
        if not self.tag_ids and self.tag_id:
            self.tag_ids = [self.tag_id]
        return self


def tag_view(tag: KnowledgeTag) -> dict[str, Any]:
    # binding_count is a string in Dify's answer (its old field coercion, kept by its documentation)
    return {"id": tag.id, "name": tag.name, "type": TAG_TYPE, "binding_count": str(tag.binding_count)}


def _require_tag_ids(tag_ids: list[str]) -> None:
    if not tag_ids:
        raise InvalidParam("Tag IDs is required.")


@router.get("/tags", summary="List knowledge tags")
async def list_tags(_: DatasetAuthDep, services: ServicesDep) -> list[dict[str, Any]]:
    return [tag_view(t) for t in await services.knowledge.tags.all()]


@router.post("/tags", dependencies=[JsonBody], summary="Create a knowledge tag")
async def create_tag(body: TagCreate, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    return tag_view(await services.knowledge.tags.create(body.name))


@router.patch("/tags", dependencies=[JsonBody], summary="Rename a knowledge tag")
async def update_tag(body: TagUpdate, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    return tag_view(await services.knowledge.tags.rename(body.tag_id, body.name))


@router.delete("/tags", dependencies=[JsonBody], status_code=204, summary="Delete a knowledge tag")
async def delete_tag(body: TagDelete, _: DatasetAuthDep, services: ServicesDep) -> Response:
    await services.knowledge.tags.delete(body.tag_id)
    return no_content()


@router.post("/tags/binding", dependencies=[JsonBody], status_code=204, summary="Bind tags to a dataset")
async def bind_tags(body: TagBinding, _: DatasetAuthDep, services: ServicesDep) -> Response:
    _require_tag_ids(body.tag_ids)
    await services.knowledge.tags.bind(body.tag_ids, body.target_id)
    return no_content()


@router.post("/tags/unbinding", dependencies=[JsonBody], status_code=204, summary="Unbind tags from a dataset")
async def unbind_tags(body: TagUnbinding, _: DatasetAuthDep, services: ServicesDep) -> Response:
    _require_tag_ids(body.tag_ids)
    await services.knowledge.tags.unbind(body.tag_ids, body.target_id)
    return no_content()


@router.get("/{dataset_id}/tags", summary="The tags bound to a dataset")
async def dataset_tags(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    tags = (await services.knowledge.tags.of_datasets([dataset_id])).get(dataset_id, [])
    return {"data": [{"id": t.id, "name": t.name} for t in tags], "total": len(tags)}

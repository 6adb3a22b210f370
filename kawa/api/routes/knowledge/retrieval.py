"""Knowledge API, retrieval: the segments of a dataset that answer a query (Dify's hit testing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.params import KnowledgeBody, check_api_enabled, retrieval_config
from kawa.knowledge.wire import hit_testing_record

router = APIRouter(prefix="/datasets", tags=["knowledge"])


class RetrieveBody(KnowledgeBody):
    query: str = Field(min_length=1, max_length=250)
    retrieval_model: dict[str, Any] | None = None
    external_retrieval_model: dict[str, Any] | None = None


@router.post("/{dataset_id}/retrieve", dependencies=[JsonBody], summary="Retrieve segments for a query (hit testing)")
@router.post("/{dataset_id}/hit-testing", dependencies=[JsonBody], include_in_schema=False)
async def retrieve(dataset_id: str, body: RetrieveBody, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    dataset = await services.knowledge.datasets.get(dataset_id)
    check_api_enabled(dataset.enable_api)
    config = None
    if body.retrieval_model:
        # Fields the client leaves out keep the dataset's own settings.
        config = retrieval_config({**(dataset.retrieval_model or {}), **body.retrieval_model})
    hits = await services.knowledge.retrieve([dataset_id], body.query, config)
    return {"query": {"content": body.query}, "records": [hit_testing_record(h) for h in hits]}

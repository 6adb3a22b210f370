"""What every Knowledge API page reads the same way: paging query parameters, the request-body base, a retrieval
model sent by the client, and the dataset a request may use (its API must be enabled)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError

from kawa.errors import InvalidParam
from kawa.knowledge.errors import DatasetApiDisabled
from kawa.knowledge.types import RetrievalConfig
from kawa.services import Services

Page = Annotated[int, Query(ge=1, le=99999)]
Limit = Annotated[int, Query(ge=1, le=100)]


class KnowledgeBody(BaseModel):
    """Knowledge API bodies ignore fields kawa does not know, as Dify does."""

    model_config = ConfigDict(extra="ignore")


def no_content() -> Response:
    return Response(status_code=204)


def retrieval_config(raw: dict[str, Any]) -> RetrievalConfig:
    try:
        return RetrievalConfig.model_validate(raw)
    except ValidationError as exc:
        raise InvalidParam(f"retrieval_model: {exc}") from None


def check_api_enabled(enable_api: bool) -> None:
    if not enable_api:
        raise DatasetApiDisabled()


async def require_api_dataset(services: Services, dataset_id: str) -> None:
    """Raise unless the dataset exists (`dataset_not_found`) and its API is enabled (`dataset_api_disabled`)."""
    check_api_enabled((await services.knowledge.datasets.get(dataset_id)).enable_api)

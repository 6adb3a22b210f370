"""The pieces Dify's shapes share: the strict base model, usage, retriever resources, pages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

JsonObject = dict[str, Any]


class Shape(BaseModel):
    """A documented Dify object: documented fields present with their types; more fields allowed."""

    model_config = ConfigDict(extra="allow", strict=True)


class Usage(Shape):
    prompt_tokens: int
    prompt_unit_price: str
    prompt_price_unit: str
    prompt_price: str
    completion_tokens: int
    completion_unit_price: str
    completion_price_unit: str
    completion_price: str
    total_tokens: int
    total_price: str
    currency: str
    latency: float


class RetrieverResource(Shape):
    position: int
    dataset_id: str
    dataset_name: str
    document_id: str
    document_name: str
    segment_id: str
    score: float | None
    content: str


class MessageMetadata(Shape):
    usage: Usage
    retriever_resources: list[RetrieverResource] | None = None


class Result(Shape):
    """`{"result": "success"}`."""

    result: str


class Page(Shape):
    """Dify's cursor pages: `limit`, `has_more`."""

    limit: int
    has_more: bool


class NumberedPage(Shape):
    """Dify's numbered pages: `page`, `limit`, `total`, `has_more`."""

    page: int
    limit: int
    total: int
    has_more: bool


class ErrorBody(Shape):
    """Every error answer: `{"code", "message", "status"}`."""

    code: str
    message: str
    status: int

"""Dify's JSON of conversations, messages, feedback and conversation variables.

Each view reads a record through a read-only Protocol that names exactly the fields it serialises, so the HTTP layer
depends on those fields, not on the store's ORM classes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

NIL_UUID = "00000000-0000-0000-0000-000000000000"


class ConversationFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def introduction(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def updated_at(self) -> float: ...


class MessageFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def conversation_id(self) -> str | None: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def query(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def message_files(self) -> list[Any]: ...
    @property
    def agent_thoughts(self) -> list[Any]: ...
    @property
    def retriever_resources(self) -> list[Any]: ...
    @property
    def message_tokens(self) -> int: ...
    @property
    def answer_tokens(self) -> int: ...
    @property
    def latency(self) -> float: ...
    @property
    def usage(self) -> dict[str, Any] | None: ...
    @property
    def created_at(self) -> float: ...


class FeedbackFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def app_id(self) -> str: ...
    @property
    def conversation_id(self) -> str | None: ...
    @property
    def message_id(self) -> str: ...
    @property
    def rating(self) -> str: ...
    @property
    def content(self) -> str | None: ...
    @property
    def from_end_user_id(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def updated_at(self) -> float: ...


class VariableFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def value_type(self) -> str: ...
    @property
    def value(self) -> Any: ...
    @property
    def description(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def updated_at(self) -> float: ...


def conversation_view(c: ConversationFields) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "inputs": c.inputs,
        "status": c.status,
        "introduction": c.introduction,
        "created_at": int(c.created_at),
        "updated_at": int(c.updated_at),
    }


def message_view(m: MessageFields, feedback: FeedbackFields | None) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "parent_message_id": NIL_UUID,
        "inputs": m.inputs,
        "query": m.query,
        "answer": m.answer,
        "feedback": {"rating": feedback.rating} if feedback else None,
        "retriever_resources": m.retriever_resources or [],
        "created_at": int(m.created_at),
        "agent_thoughts": [{**t, "message_id": m.id} for t in m.agent_thoughts or []],
        "message_files": [_message_file(f) for f in m.message_files or []],
        "status": m.status,
        "error": m.error,
        **_message_cost(m),
    }


def _message_cost(m: MessageFields) -> dict[str, Any]:
    """Tokens, time and price as the message recorded them (Dify's columns: the price has 7 decimal places)."""
    usage = m.usage or {}
    try:
        price = Decimal(str(usage.get("total_price") or 0))
    except InvalidOperation:
        price = Decimal(0)
    return {
        "message_tokens": m.message_tokens,
        "answer_tokens": m.answer_tokens,
        "total_tokens": m.message_tokens + m.answer_tokens,
        "provider_response_latency": m.latency,
        "total_price": format(price.quantize(Decimal("0.0000001")), "f"),
        "currency": usage.get("currency") or "USD",
    }


def _message_file(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f.get("related_id") or f.get("id"),
        "filename": f.get("filename"),
        "type": f.get("type"),
        "url": f.get("url"),
        "mime_type": f.get("mime_type"),
        "size": f.get("size"),
        "transfer_method": f.get("transfer_method"),
        "belongs_to": f.get("belongs_to") or "user",
        "upload_file_id": f.get("related_id"),
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def app_feedback_view(f: FeedbackFields) -> dict[str, Any]:
    return {
        "id": f.id,
        "app_id": f.app_id,
        "conversation_id": f.conversation_id,
        "message_id": f.message_id,
        "rating": f.rating,
        "content": f.content,
        "from_source": "user",
        "from_end_user_id": f.from_end_user_id,
        "from_account_id": None,
        "created_at": _iso(f.created_at),
        "updated_at": _iso(f.updated_at),
    }


def _string_value(value: Any) -> str | None:
    """Dify sends a conversation variable's value as a string field: objects and arrays as JSON, numbers as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def variable_view(v: VariableFields) -> dict[str, Any]:
    value = v.value
    return {
        "id": v.id,
        "name": v.name,
        "value_type": v.value_type,
        "value": _string_value(value),
        "description": v.description,
        "created_at": int(v.created_at),
        "updated_at": int(v.updated_at),
    }

"""kawa's `/v1/openapi.json` as a client of the Dify API needs it: the error statuses kawa really answers, each
with Dify's error body `{code, message, status}` (FastAPI's default 422 is never sent), `text/event-stream` for
the operations that stream, and `date-time` formats on the date filters.

FastAPI builds the document from the routes; `service_openapi` adds what the routes cannot say, once, at the first
request for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Dify's error body.",
    "required": ["code", "message", "status"],
    "properties": {
        "code": {"type": "string", "description": "Dify's error code, e.g. invalid_param, not_found."},
        "message": {"type": "string"},
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
    },
}

_ERRORS = {
    "400": "Invalid parameters or body (`invalid_param`, `bad_request`, or an app or model error).",
    "401": "Missing or invalid API key (`unauthorized`).",
    "404": "Not found, or owned by another app or end user (`not_found`, `file_not_found`, ...).",
    "413": "Body over the request-size cap (`request_entity_too_large`) or a file over its limit.",
    "415": "Not the Content-Type the operation reads (`unsupported_media_type`), or a file type it refuses.",
    "429": "Too many concurrent runs of the app (`too_many_requests`) or the model provider's rate limit.",
}
_UNAUTHENTICATED = ("/healthz", "/readyz", "/files/{file_id}/file-preview", "/mcp/")
_STREAMING = {
    "/v1/workflows/run",
    "/v1/workflows/{workflow_id}/run",
    "/v1/chat-messages",
    "/v1/completion-messages",
}
_DATE_TIME_FILTERS = {"created_at__before", "created_at__after"}
_STREAM_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": "Server-sent events (`response_mode: streaming`): `data: {json}` per event, `event: ping` "
    "while idle. Without streaming the answer is `application/json`.",
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DifyError"}}},
    }


def _complete_operation(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    has_body = "requestBody" in operation
    for status, description in _ERRORS.items():
        if status == "401" and path.startswith(_UNAUTHENTICATED):
            continue
        if status in ("413", "415") and not has_body:
            continue
        responses.setdefault(status, _error_response(description))
    if path in _STREAMING:
        content = responses.setdefault("200", {"description": "OK"}).setdefault("content", {})
        content["text/event-stream"] = {"schema": _STREAM_SCHEMA}
    for parameter in operation.get("parameters", []):
        if parameter.get("name") in _DATE_TIME_FILTERS:
            parameter["schema"] = {
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                "title": parameter.get("schema", {}).get("title", parameter["name"]),
            }


def service_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """A replacement for `app.openapi` that builds the completed document once."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    _complete_operation(path, operation)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["DifyError"] = ERROR_SCHEMA
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    return build

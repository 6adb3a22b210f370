"""The one place errors become HTTP responses, always in Dify's shape `{"code", "message", "status"}`."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kawa.errors import KawaError, internal_error_message
from kawa.store.database import DatabaseFailure, is_unavailable

log = logging.getLogger("kawa.api")

_HTTP_MESSAGES = {
    400: ("bad_request", "The browser (or proxy) sent a request that this server could not understand."),
    404: (
        "not_found",
        "The requested URL was not found on the server. If you entered the URL manually please check "
        "your spelling and try again.",
    ),
    405: ("method_not_allowed", "The method is not allowed for the requested URL."),
    413: ("request_entity_too_large", "The data value transmitted exceeds the capacity limit."),
    415: (
        "unsupported_media_type",
        "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    ),
}


def error_response(code: str, message: str, status: int, headers: Mapping[str, str] | None = None) -> JSONResponse:
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = 'Bearer realm="api"'
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status, headers=extra)


def http_error_body(status: int, detail: object = None) -> tuple[str, str]:
    """(code, message) of a plain HTTP error as Dify's Flask app words it; a specific `detail` is kept as the
    message, the status's standard phrase is not."""
    code, default = _HTTP_MESSAGES.get(status, (_snake(HTTPStatus(status).phrase), HTTPStatus(status).phrase + "."))
    standard = {HTTPStatus(status).phrase, "Not Found", "Method Not Allowed", "There was an error parsing the body"}
    message = detail if isinstance(detail, str) and detail and detail not in standard else default
    return code, message


def database_unavailable_response(request_id: str) -> JSONResponse:
    """503 while the database is unreachable or out of connections; it passes by itself, so clients may retry."""
    response = error_response(
        "service_unavailable",
        f"The service is temporarily unavailable, please try again shortly. (request id: {request_id})",
        503,
    )
    response.headers["Retry-After"] = "1"
    return response


def _snake(phrase: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


def describe_validation_errors(exc: RequestValidationError) -> tuple[str, str]:
    """(code, message) for a request that failed validation: broken JSON is `bad_request`, the rest `invalid_param`."""
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return "bad_request", "The browser (or proxy) sent a request that this server could not understand."
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        where = ".".join(loc)
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "invalid_param", "; ".join(parts) or "Invalid parameter."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KawaError)
    async def _kawa(_: Request, exc: KawaError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = describe_validation_errors(exc)
        return error_response(code, message, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = http_error_body(exc.status_code, exc.detail)
        return error_response(code, message, exc.status_code, headers=exc.headers)  # 405 keeps its Allow

    @app.exception_handler(DatabaseFailure)
    async def _database(request: Request, exc: DatabaseFailure) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "-")
        if isinstance(exc, DataError):  # a value the database cannot hold (NUL in PostgreSQL text, out of range)
            log.warning("database refused a value in %s %s [request %s]", request.method, request.url.path, request_id)
            return error_response("invalid_param", "Invalid parameter.", 400)
        if is_unavailable(exc):
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            log.warning(
                "database unavailable in %s %s [request %s]: %s",
                request.method,
                request.url.path,
                request_id,
                first_line,
            )
            return database_unavailable_response(request_id)
        log.error("database error in %s %s [request %s]", request.method, request.url.path, request_id, exc_info=exc)
        return error_response("unknown", internal_error_message(request_id), 500)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "-")
        log.exception("unhandled error in %s %s [request %s]", request.method, request.url.path, request_id)
        response = error_response(
            "unknown", f"Internal Server Error, please contact support. (request id: {request_id})", 500
        )
        # This response is sent by Starlette's outermost middleware, outside the request-id one: add the id here.
        # The exception is re-raised after it and uvicorn then drops the connection: tell the client not to reuse
        # it, or its next pooled request is reset.
        response.headers["X-Request-Id"] = request_id
        response.headers["Connection"] = "close"
        return response

"""The request-size cap: a body over `max_request_mb` is answered 413 in Dify's shape while it is read, never
buffered whole first (Dify's stack refuses bodies over 100 MB at its proxy).

A declared `Content-Length` over the cap is refused before the body is read; a body that grows past the cap
(chunked, or lying about its length) is refused at the chunk that crosses it. Either way the rest of the body is read
and dropped, up to as much again, so that a client still sending sees the 413 rather than a broken pipe.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kawa.api.errors import error_response, http_error_body

MB = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body crosses the cap; the error handlers answer it like any 413."""

    def __init__(self) -> None:
        super().__init__(413)


class RequestSizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _drop_body(receive, self.max_bytes)
            code, message = http_error_body(413)
            await error_response(code, message, 413)(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if message.get("more_body", False):
                        await _drop_body(receive, self.max_bytes)
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _drop_body(receive: Receive, budget: int) -> None:
    """Read and drop what is left of the body, at most `budget` bytes (then the connection is closed)."""
    dropped = 0
    while dropped <= budget:
        message = await receive()
        if message["type"] != "http.request":
            return
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False):
            return

"""`204 No Content` answers carry `Content-Type: application/json`, as Dify's (Flask returns `{...}, 204` with its
JSON type and an empty body): clients that check the type before reading an empty body accept them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class NoContentJsonType:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def typed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 204:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"content-type" for name, _ in headers):
                    headers.append((b"content-type", b"application/json"))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, typed_send)

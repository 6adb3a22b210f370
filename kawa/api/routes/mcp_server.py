"""`/mcp/server/{server_code}/mcp`: apps published as MCP servers (Dify's endpoint), for Claude Desktop, IDEs and
agent frameworks. The protocol handlers are `kawa.apps.mcp_publishing`'s; this module serves them with the official
SDK's streamable HTTP transport (stateless, JSON responses, as Dify's endpoint) and answers Dify's 404 shape for codes
that name no active server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kawa.services import Services

PATH = "/mcp/server/{server_code}/mcp"


class McpServerEndpoint:
    """A raw ASGI endpoint: the SDK's transport reads the request and writes the response itself."""

    def __init__(self) -> None:
        self.sessions: StreamableHTTPSessionManager | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services: Services = scope["app"].state.services
        code = str(scope.get("path_params", {}).get("server_code", ""))
        if self.sessions is None or await services.mcp_publisher.published_app(code) is None:
            body = {"code": "not_found", "message": "MCP server not found or disabled.", "status": 404}
            await JSONResponse(body, status_code=404)(scope, receive, send)
            return
        await self.sessions.handle_request(scope, receive, send)

    @asynccontextmanager
    async def serving(self, services: Services) -> AsyncIterator[None]:
        """The SDK's session manager for the app's lifetime (it cannot be restarted: one per lifespan)."""
        self.sessions = StreamableHTTPSessionManager(services.mcp_publisher.server, stateless=True, json_response=True)
        try:
            async with self.sessions.run():
                yield
        finally:
            self.sessions = None


def mount(app: FastAPI) -> None:
    """Route the endpoint and run its transport inside the app's lifespan, once the services are open."""
    endpoint = McpServerEndpoint()
    app.router.routes.append(Route(PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False))
    opened: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with opened(application) as state, endpoint.serving(application.state.services):
            yield state

    app.router.lifespan_context = lifespan

"""`/mcp/server/{server_code}/mcp`: apps published as MCP servers (Dify's endpoint), for Claude Desktop, IDEs and
agent frameworks. The MCP protocol itself is the SDK's (`kawa.apps.mcp_publishing`); this route only checks that the
code names an active server, answering Dify's 404 shape otherwise."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kawa.services import Services

PATH = "/mcp/server/{server_code}/mcp"


class McpServerEndpoint:
    """A raw ASGI endpoint: the SDK's transport reads the request and writes the response itself."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services: Services = scope["app"].state.services
        code = str(scope.get("path_params", {}).get("server_code", ""))
        if await services.mcp_publisher.published_app(code) is None:
            body = {"code": "not_found", "message": "MCP server not found or disabled.", "status": 404}
            await JSONResponse(body, status_code=404)(scope, receive, send)
            return
        await services.mcp_publisher.handle(scope, receive, send)


def mount(app: FastAPI) -> None:
    app.router.routes.append(
        Route(PATH, McpServerEndpoint(), methods=["GET", "POST", "DELETE"], include_in_schema=False)
    )

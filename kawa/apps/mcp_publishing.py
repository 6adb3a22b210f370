"""Apps published as MCP servers (Dify's `/mcp/server/{code}/mcp`): one tool per app, named after the app, whose
arguments are the app's input form (plus `query` for chat apps). A call runs the app as its API would — a recorded
workflow run or a message — and answers with the workflow's outputs (JSON) or the chat answer.

`AppMcpPublisher.server` is the SDK's protocol server (transport-free); the HTTP layer serves it over streamable
HTTP at a path that names the server code (`kawa.api.routes.mcp_server`), which the handlers read from the request.
"""

from __future__ import annotations

import json
import re
from typing import Any

import mcp_types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from kawa import __version__
from kawa.apps.input_schema import input_schema
from kawa.apps.runners.chat_runner import ChatRunner, MessageRequest
from kawa.apps.runners.workflow_runner import WorkflowRunner, WorkflowRunRequest
from kawa.apps.workflow_tools import identifier_of
from kawa.dsl.document import app_input_variables
from kawa.errors import KawaError
from kawa.store.apps import AppStore
from kawa.store.mcp_servers import McpServerStore
from kawa.store.tables import App

MCP_USER = "mcp-client"
_CODE = re.compile(r"/mcp/server/([A-Za-z0-9]+)/mcp/?$")
CHAT_MODES = frozenset({"chat", "agent-chat", "advanced-chat", "completion"})


class McpAppError(Exception):
    """The call could not run the app; the message goes back to the MCP client as the tool's error."""


class AppMcpPublisher:
    def __init__(
        self, *, servers: McpServerStore, apps: AppStore, workflows: WorkflowRunner, chats: ChatRunner
    ) -> None:
        self.servers = servers
        self.apps = apps
        self.workflows = workflows
        self.chats = chats
        self.server: Server[Any] = Server(
            "kawa", version=__version__, on_list_tools=self._list_tools, on_call_tool=self._call_tool
        )

    async def published_app(self, server_code: str) -> App | None:
        """The app an active server code publishes (None for unknown or inactive codes and deleted apps)."""
        server = await self.servers.active(server_code)
        return await self.apps.get(server.app_id) if server is not None else None

    async def _app_of(self, ctx: ServerRequestContext[Any, Any]) -> tuple[App, str]:
        path = str(getattr(getattr(ctx.request, "url", None), "path", ""))
        found = _CODE.search(path)
        server = await self.servers.active(found.group(1)) if found else None
        app = await self.apps.get(server.app_id) if server is not None else None
        if server is None or app is None:
            raise McpAppError("This MCP server does not exist or is disabled.")
        return app, server.description

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        app, description = await self._app_of(ctx)
        version = await self.apps.current_version(app)
        schema = input_schema(app_input_variables(version.document), query=app.mode in CHAT_MODES)
        tool = mcp_types.Tool(
            name=identifier_of(app.name) or "app",
            title=app.name,
            description=description or app.description or app.name,
            input_schema=schema,
        )
        return mcp_types.ListToolsResult(tools=[tool])

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        try:
            app, _ = await self._app_of(ctx)
            if params.name != (identifier_of(app.name) or "app"):
                raise McpAppError(f"Unknown tool: {params.name}")
            arguments = dict(params.arguments or {})
            text = await (
                self._run_chat(app, arguments) if app.mode in CHAT_MODES else self._run_workflow(app, arguments)
            )
        except (McpAppError, KawaError) as error:
            message = error.message if isinstance(error, KawaError) else str(error)
            return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=message)], is_error=True)
        return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=text)])

    async def _run_workflow(self, app: App, arguments: dict[str, Any]) -> str:
        handle = await self.workflows.start(app, WorkflowRunRequest(inputs=arguments, user=MCP_USER))
        data = (await handle.blocking_result()).get("data") or {}
        if data.get("status") != "succeeded":
            raise McpAppError(f"The workflow {data.get('status')}: {data.get('error') or 'no outputs'}")
        return json.dumps(data.get("outputs") or {}, ensure_ascii=False)

    async def _run_chat(self, app: App, arguments: dict[str, Any]) -> str:
        query = str(arguments.pop("query", "") or "")
        if not query:
            raise McpAppError("query is required")
        request = MessageRequest(
            query=query,
            inputs=arguments,
            user=MCP_USER,
            streaming=True,
            auto_generate_name=False,
            completion=app.mode == "completion",
        )
        handle = await self.chats.start(app, request)
        answer: list[str] = []
        async for event in handle.stream():
            kind = event.get("event")
            if kind in ("message", "agent_message"):
                answer.append(str(event.get("answer") or ""))
            elif kind == "message_replace":
                answer = [str(event.get("answer") or "")]
            elif kind == "error":
                raise McpAppError(str(event.get("message") or "The app failed."))
        return "".join(answer)

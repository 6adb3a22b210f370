"""`McpToolbox`: the tools of the configured MCP servers (streamable HTTP or SSE), listed and called with the
official `mcp` SDK on one kept session per server (`sessions.py`); tool lists are cached for `tools_cache_s`."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import mcp_types
from mcp import Client

from kawa.tools.mcp.sessions import McpSessions, McpUnreachable
from kawa.tools.mcp.settings import McpSettings
from kawa.tools.tool import ToolError, ToolOutput

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class McpTool:
    """One tool of one MCP server, callable as a kawa tool."""

    toolbox: McpToolbox
    server: str
    name: str
    label: str
    description: str
    parameters: Mapping[str, Any]

    @property
    def provider(self) -> str:
        return self.server

    async def call(self, arguments: Mapping[str, Any], *, user_id: str = "") -> ToolOutput:
        return await self.toolbox.call(self.server, self.name, arguments)


class McpToolbox:
    def __init__(self, settings: McpSettings) -> None:
        self.settings = settings
        self.sessions = McpSessions(settings.servers)
        self._listed: dict[str, tuple[float, list[McpTool]]] = {}

    def server_of(self, provider_id: str) -> str | None:
        """The configured server an app's provider id names: by name, by one of its `dify_ids`, or by the last part
        of a plugin-style id (`author/name/name`)."""
        wanted = provider_id.strip()
        short = wanted.rstrip("/").rsplit("/", 1)[-1]
        for name, server in self.settings.servers.items():
            if wanted in (name, *server.dify_ids) or short == name:
                return name
        return None

    async def find(self, provider_id: str, tool_name: str) -> McpTool | None:
        server = self.server_of(provider_id)
        if server is None:
            return None
        return next((t for t in await self.tools(server) if t.name == tool_name), None)

    async def tools(self, server: str) -> list[McpTool]:
        cached = self._listed.get(server)
        if cached is not None and time.monotonic() - cached[0] < self.settings.tools_cache_s:
            return cached[1]
        listed = await self._request(server, "list its tools", lambda client: client.list_tools())
        tools = [
            McpTool(
                toolbox=self,
                server=server,
                name=tool.name,
                label=tool.title or tool.name,
                description=tool.description or "",
                parameters=tool.input_schema,
            )
            for tool in listed.tools
        ]
        self._listed[server] = (time.monotonic(), tools)
        return tools

    async def call(self, server: str, tool_name: str, arguments: Mapping[str, Any]) -> ToolOutput:
        result = await self._request(
            server, f"answer tool {tool_name}", lambda client: client.call_tool(tool_name, dict(arguments))
        )
        if not isinstance(result, mcp_types.CallToolResult):
            raise ToolError(f"MCP server {server} answered tool {tool_name} with an unexpected result.")
        return _output_of(result)

    async def aclose(self) -> None:
        await self.sessions.aclose()

    async def _request(self, server: str, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        """`send` on the server's kept session. A reused session that fails is replaced and the request sent once
        more (it had most likely gone stale: the server restarted); a fresh one that fails is the server's fault."""
        timeout = self.settings.servers[server].timeout_s
        while True:
            try:
                session, client, fresh = await self.sessions.get(server)
            except McpUnreachable:
                raise ToolError(f"MCP server {server} could not be reached or refused the request.") from None
            try:
                async with asyncio.timeout(timeout):
                    return await send(client)
            except TimeoutError:
                raise ToolError(f"MCP server {server} did not {what} within {timeout:g} s.") from None
            except Exception as error:  # transport errors arrive bare or grouped by the SDK's task groups
                await self.sessions.drop(server, session)
                if fresh:
                    log.warning("MCP server %s failed to %s: %r", server, what, error)
                    raise ToolError(f"MCP server {server} could not be reached or refused the request.") from None


def _output_of(result: mcp_types.CallToolResult) -> ToolOutput:
    texts: list[str] = []
    data: list[dict[str, Any]] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            texts.append(block.text)
        else:
            data.append(block.model_dump(mode="json", by_alias=True, exclude_none=True))
    text = "\n".join(texts)
    if result.is_error:
        raise ToolError(text or "The MCP tool reported an error.")
    structured = result.structured_content
    if structured is not None:
        data.insert(0, structured if isinstance(structured, dict) else {"result": structured})
        if not text:
            text = json.dumps(structured, ensure_ascii=False)
    return ToolOutput(text, data)

"""`McpToolbox`: the tools of the configured MCP servers (streamable HTTP or SSE), listed and called with the
official `mcp` SDK. Each call opens its own session, so a restarted server costs nothing but one reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types
from mcp import Client
from mcp.client import Transport
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from kawa.tools.mcp.settings import McpServerSettings, McpSettings
from kawa.tools.tool import ToolError, ToolOutput

log = logging.getLogger(__name__)


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
        async with self._session(server) as client:
            listed = await client.list_tools()
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
        timeout = self.settings.servers[server].timeout_s
        try:
            async with asyncio.timeout(timeout), self._session(server) as client:
                result = await client.call_tool(tool_name, dict(arguments))
        except TimeoutError:
            raise ToolError(f"MCP server {server} did not answer tool {tool_name} within {timeout:g} s.") from None
        if not isinstance(result, mcp_types.CallToolResult):
            raise ToolError(f"MCP server {server} answered tool {tool_name} with an unexpected result.")
        return _output_of(result)

    @contextlib.asynccontextmanager
    async def _session(self, server: str) -> AsyncIterator[Client]:
        config = self.settings.servers[server]
        try:
            async with Client(_transport(config), mode="legacy") as client:
                yield client
        except ToolError:
            raise
        except Exception as error:  # transport errors arrive bare or grouped by the SDK's task groups
            log.warning("MCP server %s failed: %r", server, error)
            raise ToolError(f"MCP server {server} could not be reached or refused the request.") from None


def _transport(config: McpServerSettings) -> Transport:
    if config.transport == "sse":
        return sse_client(config.url, headers=dict(config.headers), timeout=config.timeout_s)
    http = create_mcp_http_client(headers=dict(config.headers))
    return streamable_http_client(config.url, http_client=http)


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

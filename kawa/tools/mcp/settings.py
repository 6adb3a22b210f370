"""`McpSettings`: the MCP servers whose tools apps may call, by name (`[mcp.servers.NAME]` in kawa.toml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class McpServerSettings(BaseModel):
    url: str = Field(description="The server's endpoint: `.../mcp` (streamable HTTP) or `.../sse` (SSE).")
    transport: Literal["streamable_http", "sse"] = Field(
        default="streamable_http", description="`streamable_http` or `sse` (the older MCP transport)."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers sent with every request.")
    dify_ids: list[str] = Field(
        default_factory=list,
        description="Provider ids that exports use for this server (Dify's MCP server identifier or provider id).",
    )
    timeout_s: float = Field(default=60.0, description="Longest wait for one tool call, in seconds.")


class McpSettings(BaseModel):
    servers: dict[str, McpServerSettings] = Field(
        default_factory=dict,
        description="MCP servers by name; a tool node or agent tool with provider type `mcp` and this name (or one "
        "of its `dify_ids`) as provider id calls its tools.",
    )
    tools_cache_s: float = Field(default=60.0, description="How long a server's tool list is reused, in seconds.")

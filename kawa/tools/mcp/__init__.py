"""MCP, the client side: tools of configured MCP servers (`McpSettings`), listed and called with the official SDK."""

from kawa.tools.mcp.client import McpTool, McpToolbox
from kawa.tools.mcp.settings import McpServerSettings, McpSettings

__all__ = ["McpServerSettings", "McpSettings", "McpTool", "McpToolbox"]

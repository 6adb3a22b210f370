"""`ServerToolCatalog`: the tools a running server offers its tool and agent nodes — built-in tools, the configured
MCP servers' tools, and its own workflow apps published as tools — found by the names an export uses."""

from __future__ import annotations

from kawa.apps.workflow_tools import WorkflowTools
from kawa.tools.mcp.client import McpToolbox
from kawa.workflow.ports import RunnableTool, ToolRef
from kawa.workflow.tool_lookup import find_builtin


class ServerToolCatalog:
    def __init__(self, mcp: McpToolbox, workflows: WorkflowTools) -> None:
        self.mcp = mcp
        self.workflows = workflows

    async def find(self, ref: ToolRef) -> RunnableTool | None:
        if ref.provider_type == "mcp":
            return await self.mcp.find(ref.provider_id, ref.tool_name)
        if ref.provider_type == "workflow":
            return await self.workflows.find(ref.provider_id, ref.tool_name)
        return find_builtin(ref)

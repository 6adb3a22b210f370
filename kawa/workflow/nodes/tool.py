"""The `tool` node: runs one tool (built-in, an MCP server's, a workflow published as a tool) with parameters from
constants, variables or templates.

Outputs `text`, `files` and `json` as Dify's tool node does. A tool kawa cannot find (API tools, unknown plugins or
servers) fails the node with a clear error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.tools.tool import ToolError
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.nodes.tool_files import keep_tool_files, resolve_file_arguments
from kawa.workflow.ports import ToolRef
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.tool_lookup import find_tool


class ToolParameter(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["mixed", "variable", "constant"] = "constant"
    value: Any = None


class ToolData(NodeData):
    provider_id: str = ""
    provider_type: str = "builtin"
    provider_name: str = ""
    tool_name: str
    tool_label: str = ""
    tool_configurations: dict[str, Any] = Field(default_factory=dict)
    tool_parameters: dict[str, ToolParameter] = Field(default_factory=dict)


class ToolUnavailable(NodeError):
    pass


class ToolFailed(NodeError):
    pass


class ToolNode(Node[ToolData]):
    node_type = "tool"
    data_model = ToolData

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        for name, param in self.data.tool_parameters.items():
            if param.type == "variable" and isinstance(param.value, list):
                yield f"tool_parameters.{name}.value", param.value

    async def run(self, ctx: NodeContext) -> NodeResult:
        data = self.data
        ref = ToolRef(data.provider_type, data.provider_id or data.provider_name, data.tool_name)
        try:
            tool = await find_tool(ctx.services, ref)
        except ToolError as e:
            raise ToolUnavailable(str(e)) from None
        if tool is None:
            raise ToolUnavailable(
                f"Tool {data.tool_name} of provider {data.provider_id or data.provider_name} is not available in kawa."
            )
        # Older exports keep form values plain, newer ones as {"type": "constant", "value": ...}.
        arguments: dict[str, Any] = {
            key: value.get("value") if isinstance(value, dict) else value
            for key, value in data.tool_configurations.items()
        }
        for name, param in data.tool_parameters.items():
            if param.type == "variable":
                arguments[name] = ctx.pool.get(param.value) if isinstance(param.value, list) else None
            elif param.type == "mixed":
                arguments[name] = render_text(str(param.value or ""), ctx.pool)
            else:
                arguments[name] = param.value
        try:
            call_arguments = await resolve_file_arguments(ctx, arguments)
            output = await tool.call(call_arguments, user_id=str(ctx.pool.get(["sys", "user_id"]) or ""))
        except ToolError as e:
            raise ToolFailed(str(e)) from None
        files, files_note = await keep_tool_files(ctx, output.files)
        return NodeResult(
            inputs=arguments,
            outputs={"text": output.text, "files": files, "json": output.json},
            process_data={"files_note": files_note} if files_note else None,
            metadata={
                "tool_info": {
                    "provider_type": data.provider_type,
                    "provider_id": tool.provider,
                    "plugin_unique_identifier": None,
                }
            },
        )

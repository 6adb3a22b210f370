"""The tools of an `agent` node: the `tools` parameter (Dify's tool selectors) resolved through the tool seam, each
offered to the model without the parameters the app fixed, and every call's output kept for the node's outputs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kawa.models.types import ToolDefinition
from kawa.tools.tool import ToolError, ToolFile
from kawa.workflow.agent.tool_arguments import call_arguments, tool_definition
from kawa.workflow.errors import NodeError
from kawa.workflow.ports import RunnableTool, ToolRef
from kawa.workflow.runtime import NodeServices
from kawa.workflow.tool_lookup import find_tool

log = logging.getLogger(__name__)


class AgentToolUnavailable(NodeError):
    pass


@dataclass
class ToolCallRecord:
    """What the agent's tool calls produced, in call order: their JSON outputs and files."""

    json: list[dict[str, Any]] = field(default_factory=list)
    files: list[ToolFile] = field(default_factory=list)


@dataclass(frozen=True)
class NodeAgentTool:
    tool: RunnableTool
    label: str
    description: str
    fixed: Mapping[str, Any]
    user_id: str
    record: ToolCallRecord

    def definition(self) -> ToolDefinition:
        return tool_definition(self.tool.name, self.description, self.tool.parameters, self.fixed)

    async def invoke(self, given: Any) -> str:
        """The tool's text output; a failure becomes a message the model can read and react to."""
        arguments = call_arguments(given, self.definition(), self.fixed)
        try:
            output = await self.tool.call(arguments, user_id=self.user_id)
        except ToolError as error:
            return f"tool invoke error: {error}"
        except Exception as error:
            log.exception("agent tool %s failed", self.tool.name)
            return f"tool invoke error: {type(error).__name__}"
        self.record.json.extend(output.json)
        self.record.files.extend(output.files)
        return output.text


def _fixed_values(selector: Mapping[str, Any]) -> dict[str, Any]:
    """Values the app set: `settings` (form values) and the `parameters` not left to the model (`auto: 0`)."""
    fixed: dict[str, Any] = {}
    for source, only_manual in ((selector.get("settings"), False), (selector.get("parameters"), True)):
        for name, entry in (source or {}).items():
            if isinstance(entry, Mapping):
                if only_manual and entry.get("auto", 1):
                    continue
                value = entry.get("value")
                value = value.get("value") if isinstance(value, Mapping) and "value" in value else value
            else:
                value = entry
            if value not in (None, ""):
                fixed[name] = value
    return fixed


async def resolve_agent_tools(
    selectors: Any, services: NodeServices, *, user_id: str, record: ToolCallRecord
) -> dict[str, NodeAgentTool]:
    """The enabled tools by name. A tool kawa cannot find fails the node: the agent would silently lack it."""
    tools: dict[str, NodeAgentTool] = {}
    for selector in selectors if isinstance(selectors, list) else []:
        if not isinstance(selector, Mapping) or selector.get("enabled") is False:
            continue
        provider = str(selector.get("provider_name") or selector.get("provider_id") or "")
        name = str(selector.get("tool_name") or "")
        ref = ToolRef(str(selector.get("type") or selector.get("provider_type") or "builtin"), provider, name)
        try:
            tool = await find_tool(services, ref)
        except ToolError as error:
            raise AgentToolUnavailable(str(error)) from None
        if tool is None:
            raise AgentToolUnavailable(f"Tool {name} of provider {provider} ({ref.provider_type}) is not available.")
        extra = selector.get("extra")
        description = (extra.get("description") if isinstance(extra, Mapping) else None) or tool.description
        tools[tool.name] = NodeAgentTool(
            tool=tool,
            label=str(selector.get("tool_label") or tool.label),
            description=str(description),
            fixed=_fixed_values(selector),
            user_id=user_id,
            record=record,
        )
    return tools

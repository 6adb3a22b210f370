"""The tools of an agent-chat app: `agent_mode.tools` resolved to kawa's built-in tools, described to the model, and
called with the app's fixed parameters merged into the model's arguments."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kawa.apps.modes.easy_ui.config import AgentToolSettings
from kawa.models.types import ToolDefinition
from kawa.tools import BuiltinTool, ToolError, find_builtin_tool
from kawa.workflow.agent.tool_arguments import call_arguments, tool_definition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentTool:
    tool: BuiltinTool
    label: str
    fixed: Mapping[str, Any]  # parameters the app set; the model is not asked for them

    @property
    def name(self) -> str:
        return self.tool.name

    def definition(self) -> ToolDefinition:
        return tool_definition(self.name, self.tool.description, self.tool.parameters, self.fixed)

    def arguments_from(self, given: Any) -> dict[str, Any]:
        """Arguments for a call: a JSON object as given, a bare value for a one-parameter tool, plus fixed values."""
        return call_arguments(given, self.definition(), self.fixed)

    async def invoke(self, given: Any) -> str:
        """The tool's text output; a failure becomes a message the model can read and react to."""
        arguments = self.arguments_from(given)
        try:
            output = await asyncio.to_thread(self.tool.invoke, arguments)
        except ToolError as error:
            return f"tool invoke error: {error}"
        except Exception as error:
            log.exception("tool %s failed", self.name)
            return f"tool invoke error: {type(error).__name__}: {error}"
        return output.text


def resolve_tools(settings: tuple[AgentToolSettings, ...]) -> dict[str, AgentTool]:
    """The enabled tools kawa has, by name. Tools kawa does not provide are left out with a warning."""
    tools: dict[str, AgentTool] = {}
    for item in settings:
        tool = find_builtin_tool(item.provider_id, item.tool_name) if item.provider_type == "builtin" else None
        if tool is None:
            log.warning(
                "agent tool %s/%s (%s) is not available in kawa; the agent runs without it",
                item.provider_id,
                item.tool_name,
                item.provider_type,
            )
            continue
        fixed = {k: v for k, v in item.parameters.items() if v not in (None, "")}
        tools[tool.name] = AgentTool(tool=tool, label=item.tool_label or tool.label, fixed=fixed)
    return tools

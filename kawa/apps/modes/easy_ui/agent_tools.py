"""The tools of an agent-chat app: `agent_mode.tools` resolved to kawa's built-in tools, described to the model, and
called with the app's fixed parameters merged into the model's arguments. Files a tool produces are kept by the
turn's `ToolFileKeeper` and reported (`with_tool_files`) as `MessageFile` events before the step that made them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from kawa.apps.modes.easy_ui.config import AgentToolSettings
from kawa.apps.modes.easy_ui.pipeline_events import AgentThought, MessageFile, PipelineEvent
from kawa.errors import client_message
from kawa.models.types import ToolDefinition
from kawa.tools.builtin import find_builtin_tool
from kawa.tools.tool import BuiltinTool, ToolError, ToolFile
from kawa.workflow.agent.tool_arguments import call_arguments, tool_definition

log = logging.getLogger(__name__)

ToolFileKeeper = Callable[[Sequence[ToolFile]], Awaitable[list[dict[str, Any]]]]
"""Keeps files a tool produced (as uploads of the turn's app and user) and returns their Dify file values."""


@dataclass(frozen=True)
class AgentTool:
    tool: BuiltinTool
    label: str
    fixed: Mapping[str, Any]  # parameters the app set; the model is not asked for them
    keep_files: ToolFileKeeper | None = None
    produced: list[dict[str, Any]] = field(default_factory=list)  # kept files not reported yet

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
        except Exception as error:  # not the tool's own message: it may hold hosts or internals, so it is logged
            return f"tool invoke error: {client_message(error, log=log, context=f'tool {self.name}')}"
        if output.files and self.keep_files is not None:
            try:
                self.produced.extend(await self.keep_files(output.files))
            except Exception:
                log.exception("could not keep the files tool %s produced", self.name)
        return output.text

    def take_files(self) -> list[dict[str, Any]]:
        files = list(self.produced)
        self.produced.clear()
        return files


def resolve_tools(
    settings: tuple[AgentToolSettings, ...], keep_files: ToolFileKeeper | None = None
) -> dict[str, AgentTool]:
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
        tools[tool.name] = AgentTool(tool, item.tool_label or tool.label, fixed, keep_files)
    return tools


async def with_tool_files(
    events: AsyncGenerator[PipelineEvent, None], tools: Mapping[str, AgentTool]
) -> AsyncGenerator[PipelineEvent, None]:
    """The agent loop's events, with a `MessageFile` for each file its tools produced, sent before the step that
    made it; that step (and its later updates) lists the files' ids in `message_files`, as Dify's do."""
    files_of: dict[str, tuple[str, ...]] = {}
    async with aclosing(events):
        async for event in events:
            if isinstance(event, AgentThought):
                new = [file for tool in tools.values() for file in tool.take_files()]
                for file in new:
                    yield MessageFile(file)
                ids = files_of.get(event.id, ()) + tuple(str(f.get("related_id") or f.get("id")) for f in new)
                if ids:
                    files_of[event.id] = ids
                    event = replace(event, message_files=(*event.message_files, *ids))
            yield event

"""How the tool and agent nodes find a tool: through the server's `ToolCatalog` when the runner gives one, else among
kawa's built-in tools (`BuiltinRunnable` makes one callable through the `RunnableTool` seam)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kawa.tools.builtin import find_builtin_tool
from kawa.tools.tool import BuiltinTool, ToolOutput
from kawa.workflow.ports import RunnableTool, ToolRef
from kawa.workflow.runtime import NodeServices

BUILTIN_PROVIDER_TYPES = frozenset({"builtin", "plugin", ""})


@dataclass(frozen=True, slots=True)
class BuiltinRunnable:
    """A built-in tool behind the `RunnableTool` seam: its function runs in a worker thread."""

    tool: BuiltinTool

    @property
    def provider(self) -> str:
        return self.tool.provider

    @property
    def name(self) -> str:
        return self.tool.name

    @property
    def label(self) -> str:
        return self.tool.label

    @property
    def description(self) -> str:
        return self.tool.description

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.tool.parameters

    async def call(self, arguments: Mapping[str, Any], *, user_id: str = "") -> ToolOutput:
        return await asyncio.to_thread(self.tool.invoke, arguments)


def find_builtin(ref: ToolRef) -> RunnableTool | None:
    if ref.provider_type not in BUILTIN_PROVIDER_TYPES:
        return None
    tool = find_builtin_tool(ref.provider_id, ref.tool_name)
    return BuiltinRunnable(tool) if tool is not None else None


async def find_tool(services: NodeServices, ref: ToolRef) -> RunnableTool | None:
    if services.tools is not None:
        return await services.tools.find(ref)
    return find_builtin(ref)

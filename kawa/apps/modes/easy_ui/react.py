"""The ReAct strategy of agent-chat apps: the shared loop (`kawa.workflow.agent`) over the app's generation, with
the app's own ReAct prompt when it has one, its events relayed as pipeline events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping

from kawa.apps.modes.easy_ui.agent_tools import AgentTool
from kawa.apps.modes.easy_ui.generation import Generation
from kawa.apps.modes.easy_ui.pipeline_events import PipelineEvent, pipeline_events
from kawa.models.types import ChatMessage
from kawa.workflow.agent import ReactStep, parse_react
from kawa.workflow.agent import run_react as react_loop
from kawa.workflow.agent.steps import LoopControl

__all__ = ["ReactStep", "parse_react", "run_react"]


def run_react(
    generation: Generation,
    messages: list[ChatMessage],
    instruction: str,
    tools: Mapping[str, AgentTool],
    max_iteration: int,
    stopped: asyncio.Event,
    template: str | None = None,
) -> AsyncGenerator[PipelineEvent, None]:
    control = LoopControl(stopped=stopped, halt=generation.halt)
    return pipeline_events(react_loop(generation.call, messages, instruction, tools, max_iteration, control, template))

"""The function-calling strategy of agent-chat apps: the shared loop (`kawa.workflow.agent`) over the app's
generation, its events relayed as pipeline events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping

from kawa.apps.modes.easy_ui.agent_tools import AgentTool
from kawa.apps.modes.easy_ui.generation import Generation
from kawa.apps.modes.easy_ui.pipeline_events import PipelineEvent, pipeline_events
from kawa.models.types import ChatMessage
from kawa.workflow.agent import run_function_calling as function_calling_loop
from kawa.workflow.agent.steps import LoopControl


def run_function_calling(
    generation: Generation,
    messages: list[ChatMessage],
    tools: Mapping[str, AgentTool],
    max_iteration: int,
    stopped: asyncio.Event,
) -> AsyncGenerator[PipelineEvent, None]:
    control = LoopControl(stopped=stopped, halt=generation.halt)
    return pipeline_events(function_calling_loop(generation.call, messages, tools, max_iteration, control))

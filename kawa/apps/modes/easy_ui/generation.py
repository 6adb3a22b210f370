"""What every generation strategy (plain LLM call, function-calling agent, ReAct agent) is given, and the plain
strategy itself: one streamed call relayed as message deltas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from kawa.apps.modes.easy_ui.llm_call import LLMCall
from kawa.apps.modes.easy_ui.pipeline_events import MessageDelta, PipelineEvent, PipelineFinished
from kawa.models.registry import ModelRuntime
from kawa.models.types import ChatCompletionRequest, ChatMessage, CompletionParams, ToolDefinition, Usage


@dataclass(frozen=True)
class Generation:
    models: ModelRuntime
    provider: str
    model: str
    params: CompletionParams
    user: str
    halt: asyncio.Event

    def call(
        self, messages: list[ChatMessage], *, tools: list[ToolDefinition] | None = None, stop: list[str] | None = None
    ) -> LLMCall:
        params = self.params
        if stop:
            params = params.model_copy(update={"stop": list(dict.fromkeys([*params.stop, *stop]))[:4]})
        request = ChatCompletionRequest(
            model=self.model,
            messages=messages,
            params=params,
            tools=tools or [],
            tool_choice="auto" if tools else None,
            user=self.user or None,
        )
        return LLMCall(self.models, self.provider, request, self.halt)


def finish_reason_of(call: LLMCall, stopped: bool) -> str | None:
    return "stopped" if stopped else call.finish_reason


async def generate_plain(
    generation: Generation, messages: list[ChatMessage], stop: list[str], stopped: asyncio.Event
) -> AsyncGenerator[PipelineEvent, None]:
    call = generation.call(messages, stop=stop)
    async with aclosing(call.stream()) as chunks:
        async for chunk in chunks:
            if chunk.text:
                yield MessageDelta(chunk.text)
    yield PipelineFinished(
        answer=call.text,
        usage=call.usage or Usage(),
        prompt_messages=messages,
        finish_reason=finish_reason_of(call, stopped.is_set()),
    )

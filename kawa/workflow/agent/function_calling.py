"""The function-calling agent strategy: the model calls tools natively; each round is one agent thought, and the
round without tool calls gives the answer. The last allowed round offers no tools, which forces an answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import replace

from kawa.models.types import ChatMessage, Usage
from kawa.workflow.agent.steps import (
    AgentEvent,
    AgentFinished,
    AgentThought,
    AgentToolPort,
    LoopControl,
    MessageDelta,
    TurnFactory,
    labels_of,
    missing_tool_observation,
)


async def run_function_calling(
    call_model: TurnFactory,
    messages: list[ChatMessage],
    tools: Mapping[str, AgentToolPort],
    max_iteration: int,
    control: LoopControl,
) -> AsyncGenerator[AgentEvent, None]:
    definitions = [tool.definition() for tool in tools.values()]
    messages = list(messages)
    usage = Usage()
    answer = ""
    finish_reason: str | None = None
    for position in range(1, max_iteration + 2):
        offered = definitions if position <= max_iteration else []
        thought = AgentThought(id=str(uuid.uuid4()), position=position)
        turn = call_model(messages, tools=offered)
        announced = False
        async with aclosing(turn.stream()) as chunks:
            async for chunk in chunks:
                if not announced:
                    announced = True
                    yield thought
                if chunk.text:
                    answer += chunk.text
                    yield MessageDelta(chunk.text)
        usage = usage.plus(turn.usage or Usage())
        finish_reason = control.finish_reason(turn)
        # Calls the model makes when no tools were offered (the final round) are not run.
        calls = [] if turn.halted or not offered else turn.tool_calls
        names = [c.name for c in calls]
        thought = AgentThought(
            id=thought.id,
            position=position,
            thought=turn.text,
            tool=";".join(names),
            tool_labels=labels_of(names, tools),
            tool_input=json.dumps({c.name: c.parsed_arguments() for c in calls}, ensure_ascii=False) if calls else "",
        )
        yield thought
        if not calls:
            break
        messages.append(ChatMessage.assistant(turn.text, tool_calls=calls))
        observations: dict[str, str] = {}
        for tool_call in calls:
            tool = tools.get(tool_call.name)
            if tool is None:
                result = missing_tool_observation(tool_call.name)
            else:
                result = await tool.invoke(tool_call.parsed_arguments())
            observations[tool_call.name] = result
            messages.append(ChatMessage.tool(tool_call.id, result, name=tool_call.name))
        yield replace(thought, observation=json.dumps(observations, ensure_ascii=False))
        if control.should_end():
            break
    if control.stopped.is_set():
        finish_reason = "stopped"
    yield AgentFinished(answer=answer, usage=usage, prompt_messages=messages, finish_reason=finish_reason)

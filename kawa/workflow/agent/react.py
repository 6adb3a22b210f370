"""The ReAct agent strategy, for models without native tool calls: the model writes `Thought:`, `Action:` and
`Action Input:` lines (or a JSON action), the loop runs the tool and answers with `Observation:`, until
`Final Answer:`."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import replace

from kawa.models.types import ChatMessage, Usage
from kawa.workflow.agent.react_format import (
    OBSERVATION_STOP,
    REACT_PROMPT,
    AnswerStream,
    parse_react,
    react_system_prompt,
)
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


async def run_react(
    call_model: TurnFactory,
    messages: list[ChatMessage],
    instruction: str,
    tools: Mapping[str, AgentToolPort],
    max_iteration: int,
    control: LoopControl,
    template: str | None = None,
) -> AsyncGenerator[AgentEvent, None]:
    system_at = next((i for i, m in enumerate(messages) if m.role == "system"), None)
    conversation = [m for i, m in enumerate(messages) if i != system_at]
    scratchpad: list[ChatMessage] = []
    usage = Usage()
    answer = ""
    finish_reason: str | None = None
    sent: list[ChatMessage] = []
    for position in range(1, max_iteration + 2):
        offered = tools if position <= max_iteration else {}
        system = ChatMessage.system(react_system_prompt(template or REACT_PROMPT, instruction, offered))
        sent = [system, *conversation, *scratchpad]
        thought = AgentThought(id=str(uuid.uuid4()), position=position)
        yield thought
        call = call_model(sent, stop=[OBSERVATION_STOP])
        live = AnswerStream()
        async with aclosing(call.stream()) as chunks:
            async for chunk in chunks:
                piece = live.feed(chunk.text) if chunk.text else ""
                if piece:
                    answer += piece
                    yield MessageDelta(piece)
        if rest := live.flush():
            answer += rest
            yield MessageDelta(rest)
        usage = usage.plus(call.usage or Usage())
        finish_reason = control.finish_reason(call)
        step = parse_react(call.text)
        if call.halted or step.action is None or not offered:
            final = step.final_answer if step.final_answer is not None else step.thought
            if not live.streamed and not call.halted and final:
                answer += final
                yield MessageDelta(final)
            yield replace(thought, thought=step.thought or final or "")
            break
        name = step.action
        tool_input = json.dumps({name: step.action_input}, ensure_ascii=False)
        thought = replace(
            thought, thought=step.thought, tool=name, tool_labels=labels_of([name], tools), tool_input=tool_input
        )
        yield thought
        tool = tools.get(name)
        result = await tool.invoke(step.action_input) if tool is not None else missing_tool_observation(name)
        yield replace(thought, observation=json.dumps({name: result}, ensure_ascii=False))
        written = (
            json.dumps(step.action_input, ensure_ascii=False)
            if not isinstance(step.action_input, str)
            else step.action_input
        )
        scratchpad += [
            ChatMessage.assistant(f"Thought: {step.thought}\nAction: {name}\nAction Input: {written}"),
            ChatMessage.user(f"Observation: {result}"),
        ]
        if control.should_end():
            break
    if control.stopped.is_set():
        finish_reason = "stopped"
    yield AgentFinished(answer=answer, usage=usage, prompt_messages=sent, finish_reason=finish_reason)

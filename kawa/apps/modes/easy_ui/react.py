"""The ReAct agent strategy, for models without native tool calls: the model writes `Thought:`, `Action:` and
`Action Input:` lines (or a JSON action), kawa runs the tool and answers with `Observation:`, until `Final Answer:`."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any

from kawa.apps.modes.easy_ui.agent_tools import AgentTool, labels_of, missing_tool_observation
from kawa.apps.modes.easy_ui.generation import Generation, finish_reason_of
from kawa.apps.modes.easy_ui.pipeline_events import AgentThought, MessageDelta, PipelineEvent, PipelineFinished
from kawa.models.types import ChatMessage, Usage

REACT_PROMPT = """{{instruction}}

You can use these tools, each described as JSON (name, description, parameters):
{{tools}}

Work step by step. For each step write:
Thought: what to do next
Action: the tool to use, one of [{{tool_names}}]
Action Input: the tool's arguments as a JSON object
Then stop: the tool's result comes back to you as "Observation: ...".

When you know the answer, write:
Thought: I can answer now
Final Answer: the answer for the user

Always start with "Thought:" and never write an Observation yourself."""

OBSERVATION_STOP = "Observation:"
_FINAL = re.compile(r"final\s+answer\s*:", re.IGNORECASE)
_ACTION = re.compile(r"\baction\s*:", re.IGNORECASE)
_ACTION_INPUT = re.compile(r"\n\s*action\s*input\s*:", re.IGNORECASE)
_THOUGHT_PREFIX = re.compile(r"^\s*thought\s*:\s*", re.IGNORECASE)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_OBSERVATION = re.compile(r"(?:^|\n)[ \t]*observation\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class ReactStep:
    """One parsed model turn: either an action to run or a final answer (never both)."""

    thought: str
    action: str | None = None
    action_input: Any = None
    final_answer: str | None = None


def _json_value(text: str) -> Any:
    text = _FENCE.sub("", text.strip()).strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _answer_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_react(text: str) -> ReactStep:
    """Parse a ReAct turn. A turn with neither an action nor a final answer is taken as the answer itself."""
    observed = _OBSERVATION.search(text)
    if observed is not None:  # the model went on to imagine the tool's result: ignore it
        text = text[: observed.start()]
    final = _FINAL.search(text)
    action = _ACTION.search(text)
    if final is not None and (action is None or final.start() < action.start()):
        thought = _THOUGHT_PREFIX.sub("", text[: final.start()]).strip()
        return ReactStep(thought=thought, final_answer=text[final.end() :].strip())
    json_action = _json_action(text[action.end() :] if action is not None else text)
    if json_action is not None:
        name, value = json_action
        thought = _THOUGHT_PREFIX.sub("", text[: action.start()] if action is not None else "").strip()
        if name.strip().lower() == "final answer":
            return ReactStep(thought=thought, final_answer=_answer_text(value))
        return ReactStep(thought=thought, action=name.strip(), action_input=value)
    if action is not None:
        thought = _THOUGHT_PREFIX.sub("", text[: action.start()]).strip()
        rest = text[action.end() :]
        given = _ACTION_INPUT.search(rest)
        name = (rest[: given.start()] if given else rest.split("\n", 1)[0]).strip().strip("`\"'")
        value = _json_value(rest[given.end() :]) if given else {}
        if name:
            return ReactStep(thought=thought, action=name, action_input=value)
    answer = _THOUGHT_PREFIX.sub("", text).strip()
    return ReactStep(thought=answer, final_answer=answer)


def _json_action(text: str) -> tuple[str, Any] | None:
    """`{"action": ..., "action_input": ...}`, bare or in a code block, as Dify's ReAct prompts ask for."""
    start = text.find("{")
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                try:
                    value = json.loads(text[start : i + 1])
                except ValueError:
                    return None
                if isinstance(value, dict) and isinstance(value.get("action"), str) and "action_input" in value:
                    return value["action"], value["action_input"]
                return None
    return None


def react_system_prompt(template: str, instruction: str, tools: Mapping[str, AgentTool]) -> str:
    described = [d.model_dump() for d in (t.definition() for t in tools.values())]
    return (
        template.replace("{{instruction}}", instruction)
        .replace("{{tools}}", json.dumps(described, ensure_ascii=False))
        .replace("{{tool_names}}", ", ".join(tools))
        .strip()
    )


class _AnswerStream:
    """Finds `Final Answer:` in a growing turn and hands out the answer text after it as it arrives, holding back
    anything that may be the start of an imagined `Observation:`."""

    def __init__(self) -> None:
        self.buffer = ""
        self.start: int | None = None
        self.sent = 0

    def feed(self, text: str) -> str:
        self.buffer += text
        if self.start is None:
            final = _FINAL.search(self.buffer)
            action = _ACTION.search(self.buffer)
            if final is None or (action is not None and action.start() < final.start()):
                return ""
            self.start = self.sent = final.end()
        if self.sent == self.start:  # the answer starts at its first non-blank character
            stripped = len(self.buffer) - len(self.buffer[self.sent :].lstrip())
            self.start = self.sent = max(self.sent, stripped)
        return self._take(final=False)

    def flush(self) -> str:
        return self._take(final=True) if self.start is not None else ""

    def _take(self, *, final: bool) -> str:
        end = len(self.buffer)
        observed = _OBSERVATION.search(self.buffer, self.start or 0)
        if observed is not None:
            end = observed.start()
        elif not final:
            last = self.buffer.rfind("\n", self.sent)
            if last >= 0 and "observation:".startswith(self.buffer[last:].strip().lower()):
                end = last
        piece = self.buffer[self.sent : end] if end > self.sent else ""
        self.sent = max(self.sent, end)
        return piece

    @property
    def streamed(self) -> bool:
        return self.start is not None


async def run_react(
    generation: Generation,
    messages: list[ChatMessage],
    instruction: str,
    tools: Mapping[str, AgentTool],
    max_iteration: int,
    stopped: asyncio.Event,
    template: str | None = None,
) -> AsyncGenerator[PipelineEvent, None]:
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
        call = generation.call(sent, stop=[OBSERVATION_STOP])
        live = _AnswerStream()
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
        finish_reason = finish_reason_of(call, stopped.is_set())
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
        if stopped.is_set() or generation.halt.is_set():
            break
    if stopped.is_set():
        finish_reason = "stopped"
    yield PipelineFinished(answer=answer, usage=usage, prompt_messages=sent, finish_reason=finish_reason)

"""The ReAct format: the system prompt that asks a model for `Thought:` / `Action:` / `Action Input:` lines (or a
JSON action), the parser of one model turn, and the live finder of the `Final Answer:` text in a growing turn."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kawa.workflow.agent.steps import AgentToolPort

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


def react_system_prompt(template: str, instruction: str, tools: Mapping[str, AgentToolPort]) -> str:
    described = [d.model_dump() for d in (t.definition() for t in tools.values())]
    return (
        template.replace("{{instruction}}", instruction)
        .replace("{{tools}}", json.dumps(described, ensure_ascii=False))
        .replace("{{tool_names}}", ", ".join(tools))
        .strip()
    )


class AnswerStream:
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

"""What an agent loop works with and reports: one streamed model turn (`ModelTurn`, made by a `TurnFactory`), the
tools it may call (`AgentToolPort`), and its typed events — answer deltas, agent thoughts, and how it finished."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kawa.models.types import ChatChunk, ChatMessage, ToolCall, ToolDefinition, Usage


class ModelTurn(Protocol):
    """One streamed model call: `async for chunk in turn.stream()`, then `text`, `tool_calls`, `usage`, `halted`
    (the call was cut short by a halt: its text is partial) and `finish_reason` tell how it went."""

    text: str
    usage: Usage | None
    halted: bool
    finish_reason: str | None

    @property
    def tool_calls(self) -> list[ToolCall]: ...

    def stream(self) -> AsyncGenerator[ChatChunk, None]: ...


class TurnFactory(Protocol):
    def __call__(
        self, messages: list[ChatMessage], *, tools: list[ToolDefinition] | None = None, stop: list[str] | None = None
    ) -> ModelTurn: ...


class AgentToolPort(Protocol):
    """A tool as the agent loop sees it: a label, a definition for the model, and a call whose failures come back
    as text the model can read (`invoke` never raises for a bad call)."""

    @property
    def label(self) -> str: ...

    def definition(self) -> ToolDefinition: ...

    async def invoke(self, given: Any) -> str: ...


@dataclass(frozen=True, slots=True)
class MessageDelta:
    """A piece of the answer (`message`, or `agent_message` in agent mode)."""

    text: str


@dataclass(frozen=True, slots=True)
class AgentThought:
    """One agent step as it stands now; sent whenever the step is created or updated (same `id`).

    `tool` names are joined by `;`, `tool_input` and `observation` are JSON objects keyed by tool name (as text),
    `tool_labels` maps each tool name to its labels by language."""

    id: str
    position: int
    thought: str = ""
    tool: str = ""
    tool_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    tool_input: str = ""
    observation: str = ""
    message_files: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class AgentFinished:
    """Always the last event of a loop: the answer (partial when stopped), the usage of every round, the messages
    of the last round, and `finish_reason` (`stopped` when the stop event ended the loop)."""

    answer: str
    usage: Usage
    prompt_messages: Sequence[ChatMessage]
    finish_reason: str | None


AgentEvent = MessageDelta | AgentThought | AgentFinished


@dataclass(frozen=True, slots=True)
class LoopControl:
    """When a loop ends early: `stopped` (the user's stop; it finishes with `stopped`) or `halt` (the model stream
    was cut; the loop ends after the current round)."""

    stopped: asyncio.Event
    halt: asyncio.Event

    def should_end(self) -> bool:
        return self.stopped.is_set() or self.halt.is_set()

    def finish_reason(self, turn: ModelTurn) -> str | None:
        return "stopped" if self.stopped.is_set() else turn.finish_reason


def labels_of(names: list[str], tools: Mapping[str, AgentToolPort]) -> dict[str, dict[str, str]]:
    labels = {}
    for name in names:
        label = tools[name].label if name in tools else name
        labels[name] = {"en_US": label, "zh_Hans": label}
    return labels


def missing_tool_observation(name: str) -> str:
    return f"there is no tool named {name}"

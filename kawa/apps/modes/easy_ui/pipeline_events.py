"""What an easy-UI pipeline reports while it runs: typed events, serialised by the chat runner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kawa.apps.modes.easy_ui.retrieval import RetrievedSegment
from kawa.models.types import ChatMessage, Usage


@dataclass(frozen=True, slots=True)
class MessageDelta:
    """A piece of the answer (`message`, or `agent_message` in agent mode)."""

    text: str


@dataclass(frozen=True, slots=True)
class MessageReplace:
    """The answer so far is replaced by `text` (`message_replace`); `reason` is e.g. `output_moderation`."""

    text: str
    reason: str


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
class RetrieverResources:
    """Knowledge segments the answer draws on (`metadata.retriever_resources`)."""

    resources: Sequence[RetrievedSegment]


@dataclass(frozen=True, slots=True)
class PipelineFinished:
    """Always the last event. `answer` is the final answer (a moderation preset when one replaced it, the partial
    answer when stopped). `finish_reason` is the upstream's (`stop`, `length`, ...), `stopped` when the stop event
    ended the run, `moderated` when input moderation answered instead of the model."""

    answer: str
    usage: Usage
    prompt_messages: Sequence[ChatMessage]
    finish_reason: str | None


PipelineEvent = MessageDelta | MessageReplace | AgentThought | RetrieverResources | PipelineFinished

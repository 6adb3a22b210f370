"""What an easy-UI pipeline reports while it runs: typed events, serialised by the chat runner."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from kawa.apps.modes.easy_ui.retrieval import RetrievedSegment
from kawa.models.types import ChatMessage, Usage
from kawa.workflow.agent.steps import AgentEvent, AgentFinished, AgentThought, MessageDelta

__all__ = [
    "AgentThought",
    "MessageDelta",
    "MessageFile",
    "MessageReplace",
    "PipelineEvent",
    "PipelineFinished",
    "RetrieverResources",
    "pipeline_events",
]


@dataclass(frozen=True, slots=True)
class MessageReplace:
    """The answer so far is replaced by `text` (`message_replace`); `reason` is e.g. `output_moderation`."""

    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class MessageFile:
    """A file an agent's tool produced, kept and sent to the client (`message_file`); `file` is its Dify value."""

    file: Mapping[str, Any]


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


PipelineEvent = MessageDelta | MessageReplace | MessageFile | AgentThought | RetrieverResources | PipelineFinished


async def pipeline_events(events: AsyncGenerator[AgentEvent, None]) -> AsyncGenerator[PipelineEvent, None]:
    """An agent loop's events as pipeline events (its last one, `AgentFinished`, as `PipelineFinished`)."""
    async with aclosing(events):
        async for event in events:
            if isinstance(event, AgentFinished):
                yield PipelineFinished(
                    answer=event.answer,
                    usage=event.usage,
                    prompt_messages=event.prompt_messages,
                    finish_reason=event.finish_reason,
                )
            else:
                yield event

"""The seam between the chat runner and the app modes: a `Turn` (one message being generated) and the `ChatMode`
Protocol each mode (chatflow, easy-UI chat/completion/agent-chat) implements."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kawa.store.tables import App, AppVersion, Conversation, EndUser, Message

MessageStatus = Literal["normal", "error", "stopped"]
"""How a message ended, as stored and as Dify reports it."""

Publish = Callable[[str, dict[str, Any]], None]
"""Send one stream event (its name and own fields); the runner adds the message envelope."""


@dataclass
class Turn:
    """One message being generated: what a mode needs to run it and how it reports back."""

    app: App
    version: AppVersion
    end_user: EndUser
    conversation: Conversation | None
    message: Message
    query: str
    inputs: dict[str, Any]
    files: list[dict[str, Any]]
    history: list[Message]
    stop: asyncio.Event
    publish: Publish
    answer: str = ""
    status: MessageStatus = "normal"
    error: str | None = None
    error_code: str = "internal_server_error"
    error_status: int = 500  # the HTTP status of `error_code` (e.g. 429 for a provider's `rate_limit_error`)
    usage: dict[str, Any] = field(default_factory=dict)
    retriever_resources: list[dict[str, Any]] = field(default_factory=list)
    agent_thoughts: list[dict[str, Any]] = field(default_factory=list)
    workflow_run_id: str | None = None
    conversation_variables: dict[str, Any] = field(default_factory=dict)
    annotation_reply: dict[str, Any] | None = None  # set when an annotation answered (`metadata.annotation_reply`)


class ChatMode(Protocol):
    """An app mode: generates one message's answer."""

    async def run(self, turn: Turn) -> None:
        """Generate the answer: stream through `turn.publish`, fill `turn.answer`/`status`/`usage`/…; never raise
        for a failure the client should see as a failed message (set `status="error"` and `error`)."""

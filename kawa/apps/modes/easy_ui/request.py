"""What the chat runner hands an easy-UI pipeline: one request of a `chat`, `completion` or `agent-chat` app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

EasyUIModeName = Literal["chat", "completion", "agent-chat"]


@dataclass(frozen=True)
class HistoryTurn:
    """One earlier exchange of the current conversation (oldest first in `EasyUIRequest.history`)."""

    query: str
    answer: str


@dataclass(frozen=True)
class EasyUIRequest:
    mode: EasyUIModeName
    model_config: Mapping[str, Any]  # the DSL's model_config
    query: str
    inputs: Mapping[str, Any]  # validated input form values
    files: Sequence[Mapping[str, Any]]  # resolved file values (Dify File.to_dict shape, with "url")
    history: Sequence[HistoryTurn]
    user: str

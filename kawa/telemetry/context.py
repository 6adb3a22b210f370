"""What the current task is doing, for log lines and spans: contextvars set where a request or run starts and
inherited by the tasks it spawns (asyncio copies the context into every new task)."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kawa.telemetry.run_observer import RunSpans

LOG_FIELDS: ContextVar[Mapping[str, str] | None] = ContextVar("kawa_log_fields", default=None)
"""app_id, run_id, end_user, conversation_id of the run this task works for (request id: `kawa.errors.REQUEST_ID`)."""

CURRENT_RUN: ContextVar[RunSpans | None] = ContextVar("kawa_current_run", default=None)
"""The traced run this task belongs to: model, tool, retrieval and sandbox spans hang under its node spans."""


def bind_log_fields(**fields: str | None) -> None:
    """Add fields to this task's log context (and that of the tasks it spawns from now on)."""
    merged = dict(LOG_FIELDS.get() or {})
    merged.update({key: value for key, value in fields.items() if value})
    LOG_FIELDS.set(merged)

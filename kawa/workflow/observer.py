"""`RunObserver`: the seam through which metrics and traces watch runs, and the execution a node's task belongs to.

The engine tells an observer (when `NodeServices.observer` is set) that a run starts and hands it every event it
yields; the observer must be cheap and never raise into the run. `CURRENT_EXECUTION` holds, inside a node's own task,
the id of that node execution, so a model, tool, retrieval or sandbox call made by the node can be attributed to it
(a span under the node's span) without the node passing anything along.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol

from kawa.workflow.events import EngineEvent

CURRENT_EXECUTION: ContextVar[str | None] = ContextVar("kawa_node_execution", default=None)
"""Set by the scheduler in the task that runs one node execution (its `NodeStarted.id`)."""


class RunTrace(Protocol):
    """One run as an observer follows it: every event the engine yields, `WorkflowFinished` last."""

    def on_event(self, event: EngineEvent) -> None: ...


Mask = Callable[[Any], Any]
"""Replaces the run's secret environment values in a value (the engine's `SecretMasker.mask`)."""


class RunObserver(Protocol):
    """Called by the engine in the run's task as the run starts; `system` holds the `sys.*` values (no prefix):
    `app_id`, `workflow_run_id`, `user_id`, `conversation_id`, ...; `mask` is given when the run has secrets (what
    the observer records beyond the events, e.g. prompts, must go through it). Events arrive masked."""

    def run_started(self, system: Mapping[str, Any], mask: Mask | None) -> RunTrace: ...

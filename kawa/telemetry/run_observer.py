"""`TelemetryRunObserver`: the engine's run observer. From the events of a run it counts runs and node executions
(Prometheus) and, with tracing on, builds one span per run and one per node execution, with the times the events
carry; model, tool, retrieval and sandbox spans find their node's span through `RunSpans.parent_for`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kawa.telemetry.context import CURRENT_RUN, bind_log_fields
from kawa.telemetry.metrics import Metrics
from kawa.workflow import events as ev
from kawa.workflow.observer import CURRENT_EXECUTION, Mask

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class RunSpans:
    """The spans of one traced run: the run's and one per node execution (by execution id)."""

    def __init__(self, tracer: Tracer, system: Mapping[str, Any], run_started: float, mask: Mask | None) -> None:
        from opentelemetry.trace import SpanKind

        self.tracer = tracer
        self.mask = mask  # for what spans of this run record beyond its (already masked) events: prompts, answers
        mode = "chatflow" if system.get("conversation_id") else "workflow"
        attributes = {
            "kawa.app_id": str(system.get("app_id") or ""),
            "kawa.workflow_id": str(system.get("workflow_id") or ""),
            "kawa.workflow_run_id": str(system.get("workflow_run_id") or ""),
            "kawa.mode": mode,
        }
        if system.get("conversation_id"):
            attributes["kawa.conversation_id"] = str(system["conversation_id"])
        self.run = tracer.start_span(
            f"{mode} run", kind=SpanKind.INTERNAL, attributes=attributes, start_time=_ns(run_started)
        )
        self.ended = False
        self.nodes: dict[str, Span] = {}
        self.latest_by_node: dict[str, Span] = {}  # node id → its newest execution's span (container parents)

    def _context_of(self, span: Span) -> Context:
        from opentelemetry.trace import set_span_in_context

        return set_span_in_context(span)

    def node_span(self, execution_id: str, *, name: str = "node", start: float | None = None) -> Span:
        """The span of one node execution, opened by its `NodeStarted` or by a call it made first."""
        span = self.nodes.get(execution_id)
        if span is None:
            span = self.tracer.start_span(
                name, context=self._context_of(self.run), start_time=_ns(start or time.time())
            )
            self.nodes[execution_id] = span
        return span

    def parent_for(self) -> Context:
        """The context a model/tool/retrieval/sandbox span of the calling task is created in."""
        execution = CURRENT_EXECUTION.get()
        return self._context_of(self.node_span(execution) if execution is not None else self.run)

    def on_node_started(self, event: ev.NodeStarted | ev.ContainerStarted) -> None:
        span = self.node_span(event.id, name=f"{event.node_type} {event.title}", start=event.created_at)
        span.update_name(f"{event.node_type} {event.title}")
        container = event.iteration_id or event.loop_id
        parent = self.latest_by_node.get(container) if container else None
        if parent is not None and parent is not span:
            # Spans cannot be re-parented; nodes inside a container say which execution of it they ran under.
            span.set_attribute("kawa.container_span_id", format(parent.get_span_context().span_id, "016x"))
        span.set_attributes(
            {
                "kawa.node.id": event.node_id,
                "kawa.node.type": event.node_type,
                "kawa.node.execution_id": event.id,
                "kawa.node.index": getattr(event, "index", 1),
            }
        )
        self.latest_by_node[event.node_id] = span

    def on_node_finished(self, event: ev.NodeFinished | ev.ContainerCompleted) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self.nodes.pop(event.id, None)
        if span is None:
            return
        span.set_attribute("kawa.node.status", event.status)
        if event.status in ("failed", "exception"):
            span.set_status(Status(StatusCode.ERROR, event.error or event.status))
        span.end(end_time=_ns(event.finished_at))

    def abandon(self) -> None:
        """The run ended without `WorkflowFinished`: its task was cancelled (a shutdown), or it paused."""
        for span in self.nodes.values():
            span.end()
        self.nodes.clear()
        self.run.set_attribute("kawa.run.status", "interrupted")
        self.run.end()
        self.ended = True

    def on_finished(self, event: ev.WorkflowFinished) -> None:
        from opentelemetry.trace import Status, StatusCode

        self.ended = True
        for span in self.nodes.values():  # cut short by a stop or a limit
            span.end(end_time=_ns(event.finished_at))
        self.nodes.clear()
        self.run.set_attributes(
            {
                "kawa.run.status": event.status,
                "kawa.run.total_tokens": event.total_tokens,
                "kawa.run.steps": event.total_steps,
            }
        )
        if event.status == "failed":
            self.run.set_status(Status(StatusCode.ERROR, event.error or "failed"))
        self.run.end(end_time=_ns(event.finished_at))


def _close(metrics: Metrics | None, spans: RunSpans | None) -> None:
    """A run's end for the gauges, and for its spans when it ended without `WorkflowFinished` (its task was
    cancelled, or the run paused): called once, by `_RunWatch` or when the engine drops it."""
    if metrics is not None:
        metrics.active_runs.dec()
    if spans is not None and not spans.ended:
        spans.abandon()


class _RunWatch:
    """One run: metrics always (when kept), spans when traced."""

    __slots__ = ("__weakref__", "_closed", "app_id", "metrics", "spans")

    def __init__(self, metrics: Metrics | None, spans: RunSpans | None, app_id: str) -> None:
        self.metrics = metrics
        self.spans = spans
        self.app_id = app_id
        if metrics is not None:
            metrics.active_runs.inc()
        self._closed = weakref.finalize(self, _close, metrics, spans)

    def on_event(self, event: ev.EngineEvent) -> None:
        metrics, spans = self.metrics, self.spans
        if isinstance(event, ev.NodeFinished | ev.ContainerCompleted):
            if metrics is not None:
                metrics.nodes.labels(event.node_type, event.status).inc()
                metrics.node_duration.labels(event.node_type).observe(event.elapsed_time)
            if spans is not None:
                spans.on_node_finished(event)
        elif isinstance(event, ev.NodeStarted | ev.ContainerStarted):
            if spans is not None:
                spans.on_node_started(event)
        elif isinstance(event, ev.WorkflowFinished):
            if metrics is not None:
                metrics.runs.labels(self.app_id, event.status).inc()
                metrics.run_duration.labels(self.app_id).observe(event.elapsed_time)
            if spans is not None:
                spans.on_finished(event)
            self._closed()


class TelemetryRunObserver:
    """Implements `kawa.workflow.observer.RunObserver`."""

    def __init__(self, metrics: Metrics | None, tracer: Tracer | None) -> None:
        self.metrics = metrics
        self.tracer = tracer

    def run_started(self, system: Mapping[str, Any], mask: Mask | None) -> _RunWatch:
        app_id = str(system.get("app_id") or "")
        bind_log_fields(
            app_id=app_id,
            run_id=str(system.get("workflow_run_id") or "") or None,
            end_user=str(system.get("user_id") or "") or None,
            conversation_id=str(system.get("conversation_id") or "") or None,
        )
        spans = None
        if self.tracer is not None:
            spans = RunSpans(self.tracer, system, time.time(), mask)
            CURRENT_RUN.set(spans)
        return _RunWatch(self.metrics, spans, app_id)

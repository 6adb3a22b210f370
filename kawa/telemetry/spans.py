"""`SpanFactory`: opens the spans of calls (model, tool, retrieval, sandbox) under the calling node's span when the
call belongs to a traced run, else under the current context (an HTTP request's span, or a new trace)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kawa.telemetry.context import CURRENT_RUN

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer
    from opentelemetry.util.types import AttributeValue


class SpanFactory:
    def __init__(self, tracer: Tracer, *, content: bool) -> None:
        self.tracer = tracer
        self.content = content  # may prompts, completions and queries go on spans?

    def masked(self, value: str) -> str:
        """`value` with the current run's secret environment values masked (content goes on spans only so)."""
        run = CURRENT_RUN.get()
        return str(run.mask(value)) if run is not None and run.mask is not None else value

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, AttributeValue], *, client: bool = False) -> Iterator[Span]:
        """A span around the block; an exception escaping it marks the span as failed (and propagates)."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        run = CURRENT_RUN.get()
        parent = run.parent_for() if run is not None else None
        kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
        span = self.tracer.start_span(name, context=parent, kind=kind, attributes=attributes)
        try:
            yield span
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, getattr(exc, "message", None) or type(exc).__name__))
            span.set_attribute("error.type", getattr(exc, "code", None) or type(exc).__name__)
            raise
        finally:
            span.end()

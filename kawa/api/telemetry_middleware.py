"""Metrics and the server span of each HTTP request: counted by route template (never the raw path, whose ids would
make a series per run) and status, timed to the response's end (a stream's last event), with open event streams
gauged. With tracing on, the request's span continues the client's `traceparent`, or else takes Dify's `trace_id`
(the `X-Trace-Id` header or `?trace_id=`) as its trace id when that is a 32-digit hex id, and is recorded as
`dify.trace_id` either way; runs the request starts are spans under it.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kawa.telemetry.telemetry import Telemetry

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Tracer

_HEX_TRACE_ID = re.compile(r"[0-9a-f]{32}")
UNMATCHED = "unmatched"  # 404s: any path a client invents would be a new series otherwise
OTHER = "other"  # routes without a template (mounted apps: the MCP endpoint, whose path holds its secret code)


def route_template(scope: Scope, status: int) -> str:
    """The matched route's path template with the prefix it was included under (`/v1/workflows/run/{id}`)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return UNMATCHED if status == 404 else OTHER
    path: str = scope["path"]
    cut = 0
    while cut != -1:  # the route matches the path's tail; what is left of it is the router's static prefix
        if pattern.match(path[cut:]):
            return path[:cut] + template
        cut = path.find("/", cut + 1)
    return template


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = getattr(scope["app"].state, "services", None)
        telemetry: Telemetry | None = getattr(services, "telemetry", None)
        if telemetry is None or not telemetry.active:
            await self.app(scope, receive, send)
            return
        await self._observed(telemetry, scope, receive, send)

    async def _observed(self, telemetry: Telemetry, scope: Scope, receive: Receive, send: Send) -> None:
        metrics, tracer = telemetry.metrics, telemetry.tracer
        started = time.perf_counter()
        status = 500  # until the response starts: an exception escaping the app is a 500
        streaming = False
        span: Any = None
        token: object | None = None
        if tracer is not None:
            span, token = _start_server_span(tracer, scope)

        async def observed_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers") or ()).get(b"content-type", b"")
                if content_type.startswith(b"text/event-stream") and metrics is not None:
                    streaming = True
                    metrics.active_streams.inc()
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = route_template(scope, status)
            method = scope["method"]
            if metrics is not None:
                if streaming:
                    metrics.active_streams.dec()
                metrics.http_requests.labels(method, route, str(status)).inc()
                metrics.http_duration.labels(method, route).observe(time.perf_counter() - started)
            if span is not None:
                _end_server_span(span, token, method, route, status)


def _start_server_span(tracer: Tracer, scope: Scope) -> tuple[Any, object]:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or ()}
    parent: Context | None = TraceContextTextMapPropagator().extract(headers)
    dify_trace = headers.get("x-trace-id") or _query_trace_id(scope)
    if trace.get_current_span(parent).get_span_context().is_valid is False and dify_trace:
        parent = _context_from_dify_trace(dify_trace)
    attributes: dict[str, Any] = {"http.request.method": scope["method"], "url.path": scope["path"]}
    if dify_trace:
        attributes["dify.trace_id"] = dify_trace[:128]
    request_id = (scope.get("state") or {}).get("request_id")
    if request_id:
        attributes["kawa.request_id"] = request_id
    span = tracer.start_span(scope["method"], context=parent, kind=trace.SpanKind.SERVER, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(span))
    return span, token


def _end_server_span(span: Any, token: object, method: str, route: str, status: int) -> None:
    from opentelemetry import context as otel_context
    from opentelemetry.trace import Status, StatusCode

    span.update_name(f"{method} {route}")
    span.set_attributes({"http.route": route, "http.response.status_code": status})
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
    otel_context.detach(token)  # type: ignore[arg-type]  # the token attach() returned


def _query_trace_id(scope: Scope) -> str | None:
    query = scope.get("query_string") or b""
    if b"trace_id=" not in query:
        return None
    values = parse_qs(query.decode("latin-1")).get("trace_id")
    return values[0] if values else None


def _context_from_dify_trace(dify_trace: str) -> Context | None:
    """A remote parent carrying Dify's trace id, so the request's spans land in the trace the client named."""
    import random

    from opentelemetry import trace

    candidate = dify_trace.replace("-", "").lower()
    if not _HEX_TRACE_ID.fullmatch(candidate) or int(candidate, 16) == 0:
        return None
    remote = trace.SpanContext(
        trace_id=int(candidate, 16),
        span_id=random.getrandbits(64) or 1,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(remote))

"""OpenTelemetry tracing: a tracer provider of kawa's own exporting over OTLP (HTTP/protobuf or gRPC), built only
when tracing is on, so a server without it never imports the SDK.

On when `TelemetrySettings.tracing` is set, or by the standard variables: `OTEL_TRACES_EXPORTER=otlp`, or an
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` turns it off whatever
the rest says. The exporters read their other `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression)
themselves; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the service (default `kawa`). The provider is
not installed as OpenTelemetry's global one: kawa's spans go to its own exporter, whatever else runs in the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kawa import __version__
from kawa.telemetry.settings import TelemetrySettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

INSTRUMENTATION = "kawa"


def tracing_wanted(settings: TelemetrySettings, env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if settings.tracing:
        return True
    exporters = {name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",")}
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return "otlp" in exporters or (bool(endpoint) and "none" not in exporters)


def otlp_protocol(settings: TelemetrySettings, env: Mapping[str, str] = os.environ) -> str:
    chosen = (
        settings.otlp_protocol
        or env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    )
    return "grpc" if (chosen or "").strip().lower() == "grpc" else "http/protobuf"


def build_exporter(settings: TelemetrySettings) -> SpanExporter:
    """The OTLP span exporter the settings (then the `OTEL_*` variables) name."""
    endpoint = settings.otlp_endpoint
    if otlp_protocol(settings) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        insecure = endpoint.startswith("http://") if endpoint else None
        return GrpcExporter(endpoint=endpoint, insecure=insecure)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if endpoint and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"  # a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is
    return HttpExporter(endpoint=endpoint)


def build_tracer_provider(settings: TelemetrySettings, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider batching spans to `exporter` (default: `build_exporter`). Shut it down to flush."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME") or "kawa", "service.version": __version__}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter or build_exporter(settings)))
    return provider


def tracer_of(provider: TracerProvider) -> Tracer:
    return provider.get_tracer(INSTRUMENTATION, __version__)

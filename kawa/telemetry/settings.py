"""`TelemetrySettings`: metrics, traces and logs, nested into `kawa.settings.Settings` as `telemetry`
(env `KAWA_TELEMETRY__...`). Tracing also follows the standard `OTEL_*` variables (see `tracing.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class TelemetrySettings(BaseModel):
    """Operability: `/metrics`, OpenTelemetry traces, log format."""

    metrics: bool = Field(default=True, description="Serve Prometheus metrics at `/metrics` (outside `/v1`).")
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token `/metrics` requires (none: open, as `/healthz`)."
    )
    tracing: bool = Field(
        default=False,
        description="Export OpenTelemetry traces over OTLP (also on when OTEL_TRACES_EXPORTER=otlp or an "
        "OTEL_EXPORTER_OTLP_*ENDPOINT is set).",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP endpoint, e.g. http://127.0.0.1:4318 (HTTP) or http://127.0.0.1:4317 (gRPC). "
        "Default: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else the exporter's own default.",
    )
    otlp_protocol: Literal["http/protobuf", "grpc"] | None = Field(
        default=None, description="OTLP transport. Default: OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, else http/protobuf."
    )
    trace_content: bool = Field(
        default=False, description="Put prompts and completions on LLM spans (masked by default: only sizes)."
    )
    log_format: Literal["auto", "json", "plain"] = Field(
        default="auto", description="Log lines as JSON, plain text, or auto (plain on a terminal, JSON otherwise)."
    )

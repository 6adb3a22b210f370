"""`Telemetry`: metrics and (optionally) a tracer built once at start-up, and what they instrument: the engine's run
observer, the model runtime, the node services' seams. `Telemetry.off()` instruments nothing (CLI commands, tests)."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings
from kawa.telemetry.instrumented import (
    InstrumentedCodeRunner,
    InstrumentedKnowledgeSearch,
    InstrumentedToolCatalog,
    ObservedModelRuntime,
)
from kawa.telemetry.metrics import Metrics
from kawa.telemetry.run_observer import TelemetryRunObserver
from kawa.telemetry.settings import TelemetrySettings
from kawa.telemetry.spans import SpanFactory
from kawa.telemetry.tracing import build_tracer_provider, tracer_of, tracing_wanted
from kawa.workflow.runtime import NodeServices

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)


class Telemetry:
    def __init__(
        self, settings: TelemetrySettings, metrics: Metrics | None, provider: TracerProvider | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.provider = provider
        self.tracer: Tracer | None = tracer_of(provider) if provider is not None else None
        self.spans = SpanFactory(self.tracer, content=settings.trace_content) if self.tracer is not None else None

    @classmethod
    def build(cls, settings: TelemetrySettings, *, exporter: SpanExporter | None = None) -> Telemetry:
        """From the settings and the `OTEL_*` variables (`exporter` replaces the OTLP one, for tests)."""
        provider = build_tracer_provider(settings, exporter) if exporter or tracing_wanted(settings) else None
        if provider is not None:
            log.info("tracing: OpenTelemetry spans exported over OTLP")
        return cls(settings, Metrics() if settings.metrics else None, provider)

    @classmethod
    def off(cls) -> Telemetry:
        return cls(TelemetrySettings(metrics=False), None)

    @property
    def active(self) -> bool:
        return self.metrics is not None or self.tracer is not None

    def model_runtime(self, config: ModelsSettings) -> ModelRuntime:
        if not self.active:
            return ModelRuntime(config)
        return ObservedModelRuntime(config, metrics=self.metrics, spans=self.spans)

    def instrument(self, services: NodeServices) -> NodeServices:
        """The node services with their seams counted and traced, and the run observer set."""
        if not self.active:
            return services
        metrics, spans = self.metrics, self.spans
        return dataclasses.replace(
            services,
            code_runner=InstrumentedCodeRunner(services.code_runner, metrics, spans) if services.code_runner else None,
            tools=InstrumentedToolCatalog(services.tools, metrics, spans) if services.tools else None,
            knowledge=InstrumentedKnowledgeSearch(services.knowledge, metrics, spans) if services.knowledge else None,
            observer=TelemetryRunObserver(metrics, self.tracer),
        )

    def close(self) -> None:
        """Flush and stop the span exporter (spans of runs cut short by the shutdown included)."""
        if self.provider is not None:
            self.provider.shutdown()

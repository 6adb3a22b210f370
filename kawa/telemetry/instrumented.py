"""Instrumented implementations of the seams nodes call through (`kawa.workflow.ports`): the code runner, the tool
catalogue and knowledge search are wrapped; the model runtime is a subclass, since the chat modes call it too.
Each counts and times its calls (Prometheus) and, with tracing on, opens a span for each one.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Awaitable, Mapping, Sequence
from contextlib import aclosing, nullcontext
from typing import TYPE_CHECKING, Any

from kawa.errors import KawaError
from kawa.models.registry import ModelRuntime, dify_provider_name
from kawa.models.settings import ModelsSettings
from kawa.models.types import ChatChunk, ChatCompletionRequest, Usage
from kawa.sandbox.settings import SandboxSettings
from kawa.telemetry.metrics import Metrics
from kawa.telemetry.spans import SpanFactory
from kawa.tools.tool import ToolOutput
from kawa.workflow.ports import (
    CodeRunner,
    DatasetSummary,
    KnowledgeSearch,
    MetadataFilter,
    RetrievedItem,
    RunnableTool,
    ToolCatalog,
    ToolRef,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Span


def _outcome(error: BaseException) -> str:
    return error.code if isinstance(error, KawaError) else type(error).__name__


class ObservedModelRuntime(ModelRuntime):
    """The model runtime, with every chat call counted (tokens, cost, time to first token, errors) and traced."""

    def __init__(self, config: ModelsSettings, *, metrics: Metrics | None, spans: SpanFactory | None) -> None:
        super().__init__(config)
        self.metrics = metrics
        self.spans = spans

    async def chat_stream(self, provider_id: str, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        try:
            target = self.resolve_chat(provider_id, request.model)
            provider, model = target.provider_name, target.model
        except KawaError:
            provider, model = dify_provider_name(provider_id), request.model
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
            "gen_ai.request.model": model,
        }
        if request.params.temperature is not None:
            attributes["gen_ai.request.params.temperature"] = request.params.temperature
        if request.params.max_tokens is not None:
            attributes["gen_ai.request.params.max_tokens"] = request.params.max_tokens
        started = time.perf_counter()
        usage: Usage | None = None
        outcome = "ok"
        text: list[str] = []
        scope = self.spans.span(f"chat {model}", attributes, client=True) if self.spans else nullcontext(None)
        with scope as span:
            try:
                async with aclosing(super().chat_stream(provider_id, request)) as chunks:
                    async for chunk in chunks:
                        if chunk.usage is not None:
                            usage = chunk.usage
                        elif span is not None and self.spans is not None and self.spans.content:
                            text.append(chunk.text)
                        yield chunk
            except BaseException as error:
                outcome = "cancelled" if isinstance(error, GeneratorExit) else _outcome(error)
                raise
            finally:
                elapsed = time.perf_counter() - started
                self._count(provider, model, outcome, usage, elapsed)
                if span is not None:
                    self._annotate(span, model, usage, request, "".join(text))

    def _count(self, provider: str, model: str, outcome: str, usage: Usage | None, elapsed: float) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        metrics.llm_calls.labels(provider, model, outcome).inc()
        metrics.llm_duration.labels(provider, model).observe(elapsed)
        if usage is None:
            return
        metrics.llm_tokens.labels(provider, model, "prompt").inc(usage.prompt_tokens)
        metrics.llm_tokens.labels(provider, model, "completion").inc(usage.completion_tokens)
        if usage.total_price:
            metrics.llm_cost.labels(provider, model, usage.currency).inc(float(usage.total_price))
        if usage.time_to_first_token is not None:
            metrics.llm_ttft.labels(provider, model).observe(usage.time_to_first_token)

    def _annotate(self, span: Span, model: str, usage: Usage | None, request: ChatCompletionRequest, text: str) -> None:
        span.set_attribute("gen_ai.response.model", model)
        if usage is not None:
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                    "kawa.llm.cost": float(usage.total_price),
                    "kawa.llm.currency": usage.currency,
                }
            )
            if usage.time_to_first_token is not None:
                span.set_attribute("kawa.llm.time_to_first_token_s", usage.time_to_first_token)
        assert self.spans is not None
        if self.spans.content:
            messages = [{"role": m.role, "content": m.text()} for m in request.messages]
            output = [{"role": "assistant", "content": text}]
            span.set_attribute("gen_ai.input.messages", self.spans.masked(json.dumps(messages, ensure_ascii=False)))
            span.set_attribute("gen_ai.output.messages", self.spans.masked(json.dumps(output, ensure_ascii=False)))


class InstrumentedCodeRunner:
    """A `CodeRunner` whose runs are counted and traced."""

    def __init__(self, inner: CodeRunner, metrics: Metrics | None, spans: SpanFactory | None) -> None:
        self.inner = inner
        self.metrics = metrics
        self.spans = spans

    @property
    def config(self) -> SandboxSettings:
        return self.inner.config

    async def run(
        self, language: str, code: str, inputs: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]:
        started = time.perf_counter()
        outcome = "ok"
        scope = (
            self.spans.span(f"sandbox run {language}", {"kawa.sandbox.language": language})
            if self.spans
            else nullcontext()
        )
        try:
            with scope:
                return await self.inner.run(language, code, inputs, timeout_s)
        except BaseException as error:
            outcome = _outcome(error)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.sandbox_runs.labels(language, outcome).inc()
                self.metrics.sandbox_duration.labels(language).observe(time.perf_counter() - started)


class InstrumentedTool:
    """A `RunnableTool` whose calls are counted and traced."""

    def __init__(self, inner: RunnableTool, metrics: Metrics | None, spans: SpanFactory | None) -> None:
        self.inner = inner
        self.metrics = metrics
        self.spans = spans

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def label(self) -> str:
        return self.inner.label

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.inner.parameters

    async def call(self, arguments: Mapping[str, Any], *, user_id: str) -> ToolOutput:
        started = time.perf_counter()
        outcome = "ok"
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": self.inner.name,
            "kawa.tool.provider": self.inner.provider,
        }
        scope = self.spans.span(f"execute_tool {self.inner.name}", attributes) if self.spans else nullcontext()
        try:
            with scope:
                return await self.inner.call(arguments, user_id=user_id)
        except BaseException as error:
            outcome = _outcome(error)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.tool_calls.labels(self.inner.provider, self.inner.name, outcome).inc()
                self.metrics.tool_duration.labels(self.inner.provider).observe(time.perf_counter() - started)


class InstrumentedToolCatalog:
    def __init__(self, inner: ToolCatalog, metrics: Metrics | None, spans: SpanFactory | None) -> None:
        self.inner = inner
        self.metrics = metrics
        self.spans = spans

    async def find(self, ref: ToolRef) -> RunnableTool | None:
        tool = await self.inner.find(ref)
        return None if tool is None else InstrumentedTool(tool, self.metrics, self.spans)


class InstrumentedKnowledgeSearch:
    """A `KnowledgeSearch` whose searches are counted and traced (the query goes on the span only with content)."""

    def __init__(self, inner: KnowledgeSearch, metrics: Metrics | None, spans: SpanFactory | None) -> None:
        self.inner = inner
        self.metrics = metrics
        self.spans = spans

    async def missing_datasets(self, dataset_ids: Sequence[str]) -> list[str]:
        return await self.inner.missing_datasets(dataset_ids)

    async def describe_datasets(self, dataset_ids: Sequence[str]) -> list[DatasetSummary]:
        return await self.inner.describe_datasets(dataset_ids)

    async def search(
        self,
        dataset_ids: Sequence[str],
        query: str,
        settings: Mapping[str, Any] | None,
        metadata_filter: MetadataFilter | None,
    ) -> list[RetrievedItem]:
        return await self._timed(dataset_ids, query, self.inner.search(dataset_ids, query, settings, metadata_filter))

    async def search_dataset(
        self, dataset_id: str, query: str, metadata_filter: MetadataFilter | None
    ) -> list[RetrievedItem]:
        return await self._timed([dataset_id], query, self.inner.search_dataset(dataset_id, query, metadata_filter))

    async def search_best_dataset(
        self, dataset_ids: Sequence[str], query: str, metadata_filter: MetadataFilter | None
    ) -> list[RetrievedItem]:
        search = self.inner.search_best_dataset(dataset_ids, query, metadata_filter)
        return await self._timed(dataset_ids, query, search)

    async def _timed(
        self, dataset_ids: Sequence[str], query: str, search: Awaitable[list[RetrievedItem]]
    ) -> list[RetrievedItem]:
        started = time.perf_counter()
        outcome = "ok"
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "retrieval",
            "kawa.knowledge.datasets": list(dataset_ids),
        }
        if self.spans is not None and self.spans.content:
            attributes["kawa.knowledge.query"] = self.spans.masked(query)
        scope = self.spans.span("retrieval", attributes) if self.spans else nullcontext(None)
        try:
            with scope as span:
                found: list[RetrievedItem] = await search
                if span is not None:
                    span.set_attribute("kawa.knowledge.results", len(found))
                return found
        except BaseException as error:
            outcome = _outcome(error)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.retrievals.labels(outcome).inc()
                self.metrics.retrieval_duration.observe(time.perf_counter() - started)

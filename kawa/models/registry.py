"""`ModelRuntime`: built once from `ModelsSettings`; resolves an app's (Dify provider, model) to a configured
provider and runs every model call with retries, timing and prices."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from kawa.errors import (
    CompletionRequestError,
    KawaError,
    ModelNotSupported,
    ProviderNotInitialized,
    ProviderRateLimited,
    ProviderUnavailable,
)
from kawa.models.embedded import EMBEDDED_PROVIDER, EmbeddedProvider
from kawa.models.failures import is_retryable, redact
from kawa.models.pricing import PriceTable, estimate_tokens
from kawa.models.provider import Capability, EmbeddingKind, ModelProvider
from kawa.models.settings import ModelsSettings, ProviderSettings
from kawa.models.tool_calls import ToolCallAccumulator
from kawa.models.types import (
    ChatChunk,
    ChatCompletionRequest,
    ChatResult,
    Embeddings,
    ModerationResult,
    RerankHit,
    Speech,
    TokenCount,
    Transcript,
    Usage,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedModel:
    """Where a call goes: the configured provider's name, the provider, and the upstream model name."""

    provider_name: str
    provider: ModelProvider
    model: str


def dify_provider_name(provider_id: str) -> str:
    """`langgenius/openai/openai` -> `openai`; plain names pass through."""
    return provider_id.strip().rstrip("/").rsplit("/", 1)[-1]


def build_provider(name: str, config: ProviderSettings, models: ModelsSettings) -> ModelProvider:
    if config.kind == "anthropic":
        from kawa.models.anthropic import AnthropicProvider

        return AnthropicProvider(name, config, timeout_s=models.timeout_s, connect_timeout_s=models.connect_timeout_s)
    if config.kind == "local_gguf":
        from kawa.models.local_gguf import LocalGGUFProvider

        if config.model_path is None:
            raise ProviderNotInitialized(f"Provider {name}: `model_path` of the GGUF file is not set.")
        return LocalGGUFProvider(name, config.model_path, threads=models.embedded.threads)
    from kawa.models.openai_compat import OpenAICompatibleProvider

    return OpenAICompatibleProvider(
        name, config, timeout_s=models.timeout_s, connect_timeout_s=models.connect_timeout_s
    )


class ModelRuntime:
    """Every model call kawa makes goes through here. Build one at start-up, pass it in, `aclose()` at shutdown."""

    def __init__(self, config: ModelsSettings, providers: dict[str, ModelProvider] | None = None) -> None:
        self.config = config
        self.prices = PriceTable(config.prices)
        self._providers: dict[str, ModelProvider] = (
            providers
            if providers is not None
            else {name: build_provider(name, pc, config) for name, pc in config.providers.items()}
        )
        self._embedded = EmbeddedProvider(config.embedded) if config.embedded.enabled else None
        self._secrets = [secret for pc in config.providers.values() for secret in pc.secrets()]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        if self._embedded is not None:
            await self._embedded.aclose()

    @property
    def embedded(self) -> EmbeddedProvider | None:
        return self._embedded

    def providers(self) -> dict[str, ModelProvider]:
        """The configured providers by name (not the embedded one)."""
        return dict(self._providers)

    # ---- resolution -------------------------------------------------------------------------------------------

    def _configured(self, provider_id: str) -> tuple[str, ModelProvider] | None:
        short = dify_provider_name(provider_id)
        if short in self._providers:
            return short, self._providers[short]
        for name, pc in self.config.providers.items():
            ids = {provider_id, short}
            if ids & {i for d in pc.dify_ids for i in (d, dify_provider_name(d))} and name in self._providers:
                return name, self._providers[name]
        if short == EMBEDDED_PROVIDER and self._embedded is not None:
            return EMBEDDED_PROVIDER, self._embedded
        return None

    def _target(self, spec: str) -> ResolvedModel:
        name, _, model = spec.partition("/")
        found = self._configured(name)
        if found is None:
            raise ProviderNotInitialized(f"Model {spec!r} names provider {name!r}, which is not configured.")
        return ResolvedModel(found[0], found[1], model)

    def _alias(self, provider_id: str, model: str) -> str | None:
        short = dify_provider_name(provider_id)
        for key in (f"{provider_id}/{model}", f"{short}/{model}", f"{provider_id}/*", f"{short}/*", f"*/{model}"):
            if key in self.config.aliases:
                target = self.config.aliases[key]
                return target.replace("*", model) if target.endswith("/*") else target
        return None

    def resolve_chat(self, provider_id: str, model: str) -> ResolvedModel:
        """Aliases first, then a configured provider of that id, then the default model, then the embedded LLM."""
        alias = self._alias(provider_id, model)
        if alias is not None:
            return self._checked(self._target(alias), Capability.CHAT)
        found = self._configured(provider_id)
        if found is not None:
            name, provider = found
            offered = self.config.providers[name].models if name in self.config.providers else []
            if offered and model not in offered:
                raise ModelNotSupported(f"Model {model} is not offered by provider {name}.")
            return self._checked(ResolvedModel(name, provider, model), Capability.CHAT)
        if self.config.default_chat_model:
            return self._checked(self._target(self.config.default_chat_model), Capability.CHAT)
        if self._embedded is not None and self.config.embedded.chat and self._embedded.supports(Capability.CHAT):
            return ResolvedModel(EMBEDDED_PROVIDER, self._embedded, self._embedded.chat_model_name)
        raise ProviderNotInitialized(
            f"No model provider is configured for {dify_provider_name(provider_id) or 'this app'} ({model}). "
            "Configure one under [models.providers] or set models.default_chat_model."
        )

    def _resolve_for(
        self, capability: Capability, provider_id: str | None, model: str | None, default: str | None
    ) -> ResolvedModel:
        if provider_id:
            alias = self._alias(provider_id, model or "*")
            if alias is not None:
                return self._checked(self._target(alias), capability)
            found = self._configured(provider_id)
            if found is not None and found[1].supports(capability):
                offered = pc.embedding_models if (pc := self.config.providers.get(found[0])) else []
                if capability is Capability.EMBEDDINGS and offered and model not in offered:
                    raise ModelNotSupported(f"Embedding model {model} is not offered by provider {found[0]}.")
                return ResolvedModel(found[0], found[1], model or "")
        if default:
            return self._checked(self._target(default), capability)
        if self._embedded is not None and self._embedded.supports(capability):
            return ResolvedModel(EMBEDDED_PROVIDER, self._embedded, self._embedded.model_name(capability))
        raise ProviderNotInitialized(f"No model provider is configured for {capability.value}.")

    @staticmethod
    def _checked(target: ResolvedModel, capability: Capability) -> ResolvedModel:
        if not target.provider.supports(capability):
            raise ModelNotSupported(f"Provider {target.provider_name} does not support {capability.value}.")
        return target

    # ---- chat -------------------------------------------------------------------------------------------------

    async def chat_stream(self, provider_id: str, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        """Stream a chat answer. The last chunk carries `usage`. Consume it with `contextlib.aclosing` so that
        stopping early (or cancelling the task) closes the upstream stream at once."""
        target = self.resolve_chat(provider_id, request.model)
        if request.tools and not target.provider.supports(Capability.TOOL_CALLS):
            raise ModelNotSupported(f"Model {target.model} of {target.provider_name} cannot call tools.")
        upstream = request.model_copy(update={"model": target.model})
        started = time.monotonic()
        first_at: float | None = None
        tokens: TokenCount | None = None
        produced: list[str] = []
        # One deadline for every try and every wait between tries, until the first output: a hung upstream holds
        # a request for `call_deadline_s` in all, not for (retries + 1) x the per-read timeout.
        deadline = asyncio.get_running_loop().time() + self.config.call_deadline_s
        first_output_by = None if target.provider.in_process else deadline
        attempt = 0
        while True:
            emitted = False
            try:
                async with (
                    asyncio.timeout_at(first_output_by) as window,
                    aclosing(target.provider.chat_stream(upstream)) as chunks,
                ):
                    async for chunk in chunks:
                        if chunk.tokens is not None:
                            tokens = chunk.tokens
                        if not (chunk.text or chunk.reasoning or chunk.tool_calls or chunk.finish_reason):
                            continue
                        if first_at is None:
                            first_at = time.monotonic()
                            window.reschedule(None)  # answering: from here the per-read timeout applies
                        produced.append(chunk.text)
                        produced.extend(c.arguments for c in chunk.tool_calls)
                        emitted = True
                        yield chunk.model_copy(update={"tokens": None})
                break
            except TimeoutError:
                log.warning(
                    "model call timed out: %s %s after %d tries", target.provider_name, target.model, attempt + 1
                )
                raise ProviderUnavailable(
                    f"[{target.provider_name}] The model did not answer within {self.config.call_deadline_s:g} s "
                    f"({attempt + 1} {'try' if attempt == 0 else 'tries'})."
                ) from None
            except KawaError as error:
                delay = self._retry_delay(error, attempt, emitted, deadline)
                if delay is None:
                    log.warning("model call failed: %s %s: %s", target.provider_name, target.model, error.message)
                    raise
                attempt += 1
                log.info("retrying %s %s in %.2fs: %s", target.provider_name, target.model, delay, error.message)
                await asyncio.sleep(delay)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:  # a provider bug: keep the message, drop the trace and any secret
                raise CompletionRequestError(
                    redact(f"[{target.provider_name}] {type(error).__name__}: {error}", self._secrets)
                ) from None
        ended = time.monotonic()
        if tokens is None:
            prompt = "".join(m.text() + json.dumps([c.model_dump() for c in m.tool_calls]) for m in upstream.messages)
            tokens = TokenCount(
                prompt_tokens=estimate_tokens(prompt), completion_tokens=estimate_tokens("".join(produced))
            )
        usage = self.prices.usage(
            target.provider_name,
            target.model,
            tokens,
            latency=ended - started,
            time_to_first_token=None if first_at is None else first_at - started,
            time_to_generate=None if first_at is None else ended - first_at,
        )
        yield ChatChunk(usage=usage)

    def _retry_delay(self, error: KawaError, attempt: int, emitted: bool, deadline: float) -> float | None:
        """Seconds to wait before trying again, or None: give up now (output already relayed, not retryable, out of
        tries, or the wait — the upstream's Retry-After included — would end past the call's deadline)."""
        if emitted or not is_retryable(error) or attempt >= self.config.max_retries:
            return None
        delay = self.config.retry_backoff_s * (2.0**attempt) * (0.5 + random.random() / 2)
        if isinstance(error, ProviderRateLimited) and error.retry_after_s is not None:
            delay = max(delay, error.retry_after_s)
        if asyncio.get_running_loop().time() + delay >= deadline:
            return None
        return delay

    async def chat(self, provider_id: str, request: ChatCompletionRequest) -> ChatResult:
        """The whole answer of `chat_stream`, with tool call fragments assembled."""
        result = ChatResult()
        text: list[str] = []
        reasoning: list[str] = []
        calls = ToolCallAccumulator()
        async with aclosing(self.chat_stream(provider_id, request)) as chunks:
            async for chunk in chunks:
                text.append(chunk.text)
                reasoning.append(chunk.reasoning)
                calls.add(chunk.tool_calls)
                if chunk.finish_reason:
                    result.finish_reason = chunk.finish_reason
                if chunk.usage is not None:
                    result.usage = chunk.usage
        result.text = "".join(text)
        result.reasoning = "".join(reasoning)
        result.tool_calls = calls.calls()
        return result

    # ---- other model kinds ------------------------------------------------------------------------------------

    async def embed(
        self,
        texts: list[str],
        *,
        provider_id: str | None = None,
        model: str | None = None,
        kind: EmbeddingKind = "document",
    ) -> Embeddings:
        """Embed `texts` (L2-normalised by the embedded model). Without a configured provider: the embedded model."""
        target = self._resolve_for(Capability.EMBEDDINGS, provider_id, model, self.config.default_embedding_model)
        started = time.monotonic()
        vectors: list[list[float]] = []
        prompt_tokens = 0
        for i in range(0, len(texts), 64):
            batch, count = await target.provider.embed(target.model, texts[i : i + 64], kind)
            vectors.extend(batch)
            prompt_tokens += count.prompt_tokens
        usage = self.prices.usage(
            target.provider_name,
            target.model,
            TokenCount(prompt_tokens=prompt_tokens),
            latency=time.monotonic() - started,
        )
        return Embeddings(vectors=vectors, model=f"{target.provider_name}/{target.model}", usage=usage)

    async def rerank(
        self,
        query: str,
        documents: list[str],
        *,
        provider_id: str | None = None,
        model: str | None = None,
        top_n: int | None = None,
    ) -> list[RerankHit]:
        """Documents by relevance, best first. Embedded: embedding cosine fused with BM25 (Dify's weighted score)."""
        target = self._resolve_for(Capability.RERANK, provider_id, model, None)
        return await target.provider.rerank(target.model, query, documents, top_n)

    async def transcribe(
        self,
        audio: bytes,
        *,
        filename: str = "audio.mp3",
        provider_id: str | None = None,
        model: str | None = None,
        language: str | None = None,
    ) -> Transcript:
        target = self._resolve_for(Capability.SPEECH_TO_TEXT, provider_id, model, None)
        return await target.provider.transcribe(target.model, audio, filename, language)

    async def synthesize(
        self,
        text: str,
        *,
        provider_id: str | None = None,
        model: str | None = None,
        voice: str | None = None,
        audio_format: str = "mp3",
    ) -> Speech:
        target = self._resolve_for(Capability.TEXT_TO_SPEECH, provider_id, model, None)
        return await target.provider.synthesize(target.model, text, voice, audio_format)

    async def moderate(
        self, text: str, *, provider_id: str | None = None, model: str | None = None
    ) -> ModerationResult:
        target = self._resolve_for(Capability.MODERATION, provider_id, model, None)
        return await target.provider.moderate(target.model, text)

    def usage_of(self, provider_name: str, model: str, tokens: TokenCount) -> Usage:
        return self.prices.usage(provider_name, model, tokens)

"""The OpenAI-compatible provider (the `openai` SDK): OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp server, LM Studio,
DeepSeek, Groq and others, told apart only by base URL."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import httpx
import openai
from openai.types.chat import ChatCompletionChunk

from kawa.errors import KawaError, ProviderUnavailable
from kawa.models.failures import error_for_status, mark_retryable, retry_after_of
from kawa.models.provider import Capability, EmbeddingKind, ModelProvider
from kawa.models.settings import ProviderSettings
from kawa.models.types import (
    ChatChunk,
    ChatCompletionRequest,
    ChatMessage,
    ImagePart,
    ModerationResult,
    RerankHit,
    Speech,
    TokenCount,
    ToolCallDelta,
    Transcript,
)

SpeechFormat = Literal["mp3", "wav", "opus", "aac", "flac"]
_AUDIO_MIME: dict[SpeechFormat, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
}


class OpenAICompatibleProvider(ModelProvider):
    def __init__(self, name: str, config: ProviderSettings, *, timeout_s: float, connect_timeout_s: float) -> None:
        self.name = name
        self._config = config
        self._api_key = config.api_key.get_secret_value() if config.api_key else None
        self._secrets = config.secrets()
        caps = {
            Capability.CHAT,
            Capability.TOOL_CALLS,
            Capability.STRUCTURED_OUTPUT,
            Capability.EMBEDDINGS,
            Capability.RERANK,
            Capability.SPEECH_TO_TEXT,
            Capability.TEXT_TO_SPEECH,
            Capability.MODERATION,
        }
        if config.vision:
            caps.add(Capability.VISION)
        self.capabilities = frozenset(caps)
        self._client = openai.AsyncOpenAI(
            # Local servers need no key, but the SDK insists on one.
            api_key=self._api_key or "not-needed",
            base_url=config.base_url,
            timeout=openai.Timeout(timeout_s, connect=connect_timeout_s),
            max_retries=0,  # the runtime retries, so that retries never follow partial output
            default_headers=config.header_values() or None,
            default_query=config.query or None,
        )

    async def aclose(self) -> None:
        await self._client.close()

    @contextmanager
    def _translated(self, *, reading_stream: bool = False) -> Iterator[None]:
        """SDK errors as kawa's; `reading_stream`: the answer was under way, so a broken connection was cut."""
        try:
            yield
        except KawaError:
            raise
        except openai.APIStatusError as e:
            retry_after = retry_after_of(e.response.headers)
            raise self._error(e.status_code, _message_of(e), getattr(e, "code", None), retry_after) from None
        except openai.APITimeoutError:
            raise self._error(None, "The upstream did not answer in time (timeout).", None) from None
        except openai.APIConnectionError as e:
            if reading_stream:
                raise mark_retryable(self._error(None, "The upstream cut the stream.", None), False) from None
            raise self._error(None, f"Could not reach the upstream: {_message_of(e)}", None) from None
        except openai.APIError as e:
            # An error event inside a stream, or a response the SDK could not decode.
            raise mark_retryable(self._error(None, _message_of(e), getattr(e, "code", None)), False) from None
        except httpx.TransportError:
            # Some SDK versions do not wrap transport errors while a stream is being read.
            raise mark_retryable(self._error(None, "The upstream cut the stream.", None), False) from None
        except ValueError as e:
            raise mark_retryable(
                ProviderUnavailable(f"[{self.name}] Malformed response from upstream: {type(e).__name__}"), False
            ) from None

    def _error(self, status: int | None, message: str, code: str | None, retry_after: float | None = None) -> KawaError:
        return error_for_status(
            status, message, provider=self.name, code=code, secrets=self._secrets, retry_after_s=retry_after
        )

    async def chat_stream(self, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        kwargs = _chat_kwargs(request)
        if self._config.stream_usage:
            kwargs["stream_options"] = {"include_usage": True}
        with self._translated():
            stream = await self._client.chat.completions.create(stream=True, **kwargs)
        try:
            with self._translated(reading_stream=True):
                async for chunk in stream:
                    yield _chunk_of(chunk)
        finally:
            # Closing the response drops the upstream connection at once (cancellation, client stop, errors).
            await stream.close()

    async def embed(self, model: str, texts: list[str], kind: EmbeddingKind) -> tuple[list[list[float]], TokenCount]:
        with self._translated():
            result = await self._client.embeddings.create(model=model, input=texts, encoding_format="float")
        vectors = [item.embedding for item in sorted(result.data, key=lambda d: d.index)]
        prompt_tokens = result.usage.prompt_tokens if result.usage else 0
        return vectors, TokenCount(prompt_tokens=prompt_tokens)

    async def rerank(self, model: str, query: str, documents: list[str], top_n: int | None) -> list[RerankHit]:
        # Jina/Cohere-style `/rerank` as served by vLLM, llama.cpp server, Xinference and others.
        body: dict[str, Any] = {"model": model, "query": query, "documents": documents}
        if top_n is not None:
            body["top_n"] = top_n
        with self._translated():
            reply = await self._client.post("/rerank", body=body, cast_to=object)
        results = reply.get("results", []) if isinstance(reply, dict) else []
        hits = [
            RerankHit(
                index=r["index"], score=float(r.get("relevance_score", r.get("score", 0.0))), text=documents[r["index"]]
            )
            for r in results
        ]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:top_n] if top_n else hits

    async def transcribe(self, model: str, audio: bytes, filename: str, language: str | None) -> Transcript:
        with self._translated():
            result = await self._client.audio.transcriptions.create(
                model=model, file=(filename, audio), language=language or openai.omit
            )
        return Transcript(text=result.text, language=language)

    async def synthesize(self, model: str, text: str, voice: str | None, audio_format: str) -> Speech:
        fmt = _speech_format(audio_format)
        with self._translated():
            response = await self._client.audio.speech.create(
                model=model,
                input=text,
                voice=voice or "alloy",
                response_format=fmt,
            )
            audio = response.content
        return Speech(audio=audio, mime_type=_AUDIO_MIME[fmt], sample_rate=24000, duration_s=0.0)

    async def moderate(self, model: str, text: str) -> ModerationResult:
        with self._translated():
            result = await self._client.moderations.create(input=text, model=model or openai.omit)
        first = result.results[0]
        categories = {k: bool(v) for k, v in first.categories.model_dump().items() if v is not None}
        return ModerationResult(flagged=first.flagged, categories=categories)


def _speech_format(name: str) -> SpeechFormat:
    """The audio format asked for when the API offers it, else mp3."""
    return next((fmt for fmt in _AUDIO_MIME if fmt == name), "mp3")


def _message_of(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(getattr(error, "message", None) or error)


def _chat_kwargs(request: ChatCompletionRequest) -> dict[str, Any]:
    p = request.params
    kwargs: dict[str, Any] = {"model": request.model, "messages": [_wire_message(m) for m in request.messages]}
    for key in ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "seed"):
        value = getattr(p, key)
        if value is not None:
            kwargs[key] = value
    if p.stop:
        kwargs["stop"] = p.stop
    if p.extra:
        kwargs["extra_body"] = p.extra
    if request.tools:
        kwargs["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in request.tools
        ]
        if request.tool_choice in ("auto", "none", "required"):
            kwargs["tool_choice"] = request.tool_choice
        elif request.tool_choice:
            kwargs["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_object":
        kwargs["response_format"] = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.name, "schema": fmt.json_schema or {}, "strict": fmt.strict},
        }
    if request.user:
        kwargs["user"] = request.user
    return kwargs


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role}
    if isinstance(message.content, str) or not message.images():
        wire["content"] = message.text()
    else:
        wire["content"] = [
            {"type": "image_url", "image_url": {"url": part.url, "detail": part.detail}}
            if isinstance(part, ImagePart)
            else {"type": "text", "text": part.text}
            for part in message.content
        ]
    if message.tool_calls:
        wire["content"] = wire["content"] or None
        wire["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        wire["tool_call_id"] = message.tool_call_id
    if message.name and message.role != "tool":
        wire["name"] = message.name
    return wire


def _chunk_of(chunk: ChatCompletionChunk) -> ChatChunk:
    out = ChatChunk()
    if chunk.choices:
        choice = chunk.choices[0]
        delta = choice.delta
        if delta is not None:
            out.text = delta.content or ""
            extra = delta.model_extra or {}
            # DeepSeek/vLLM send `reasoning_content`, Ollama and others `reasoning`.
            reasoning = extra.get("reasoning_content") or extra.get("reasoning")
            if isinstance(reasoning, str):
                out.reasoning = reasoning
            for call in delta.tool_calls or []:
                fn = call.function
                out.tool_calls.append(
                    ToolCallDelta(
                        index=call.index,
                        id=call.id,
                        name=fn.name if fn else None,
                        arguments=(fn.arguments or "") if fn else "",
                    )
                )
        out.finish_reason = choice.finish_reason
    if chunk.usage is not None:
        out.tokens = TokenCount(
            prompt_tokens=chunk.usage.prompt_tokens or 0, completion_tokens=chunk.usage.completion_tokens or 0
        )
    return out

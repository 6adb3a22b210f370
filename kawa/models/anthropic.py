"""The Anthropic provider (its SDK): Messages API streaming with text, thinking, tool use and image inputs."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx

from kawa.errors import CompletionRequestError, KawaError
from kawa.models.failures import error_for_status, mark_retryable, retry_after_of
from kawa.models.provider import Capability, ModelProvider
from kawa.models.settings import ProviderSettings
from kawa.models.types import ChatChunk, ChatCompletionRequest, ChatMessage, ImagePart, TokenCount, ToolCallDelta

_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]+);base64,(?P<data>.*)$", re.DOTALL)


class AnthropicProvider(ModelProvider):
    capabilities = frozenset({Capability.CHAT, Capability.TOOL_CALLS, Capability.VISION})

    def __init__(self, name: str, config: ProviderSettings, *, timeout_s: float, connect_timeout_s: float) -> None:
        self.name = name
        self._api_key = config.api_key.get_secret_value() if config.api_key else None
        self._secrets = config.secrets()
        self._client = anthropic.AsyncAnthropic(
            api_key=self._api_key,
            base_url=config.base_url,
            timeout=anthropic.Timeout(timeout_s, connect=connect_timeout_s),
            max_retries=0,
            default_headers=config.header_values() or None,
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
        except anthropic.APIStatusError as e:
            body = e.body if isinstance(e.body, dict) else {}
            inner = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
            message = str(inner.get("message") or e.message)
            raise error_for_status(
                e.status_code,
                message,
                provider=self.name,
                code=inner.get("type"),
                secrets=self._secrets,
                retry_after_s=retry_after_of(e.response.headers),
            ) from None
        except anthropic.APITimeoutError:
            raise error_for_status(None, "The upstream did not answer in time (timeout).", provider=self.name) from None
        except anthropic.APIConnectionError as e:
            if reading_stream:
                raise mark_retryable(
                    error_for_status(None, "The upstream cut the stream.", provider=self.name), False
                ) from None
            raise error_for_status(
                None, f"Could not reach the upstream: {e.message}", provider=self.name, secrets=self._secrets
            ) from None
        except httpx.TransportError:  # not wrapped by the SDK while a stream is being read
            raise mark_retryable(
                error_for_status(None, "The upstream cut the stream.", provider=self.name), False
            ) from None
        except (anthropic.APIError, ValueError) as e:
            raise mark_retryable(
                CompletionRequestError(f"[{self.name}] {getattr(e, 'message', type(e).__name__)}"), False
            ) from None

    async def chat_stream(self, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        kwargs = _messages_kwargs(request)
        with self._translated():
            stream = await self._client.messages.create(stream=True, **kwargs)
        prompt_tokens = 0
        blocks: dict[int, int] = {}  # content block index -> tool call index
        try:
            with self._translated(reading_stream=True):
                async for event in stream:
                    if event.type == "message_start":
                        prompt_tokens = event.message.usage.input_tokens or 0
                    elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                        blocks[event.index] = len(blocks)
                        yield ChatChunk(
                            tool_calls=[
                                ToolCallDelta(
                                    index=blocks[event.index], id=event.content_block.id, name=event.content_block.name
                                )
                            ]
                        )
                    elif event.type == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta":
                            yield ChatChunk(text=delta.text)
                        elif delta.type == "thinking_delta":
                            yield ChatChunk(reasoning=delta.thinking)
                        elif delta.type == "input_json_delta" and event.index in blocks:
                            yield ChatChunk(
                                tool_calls=[ToolCallDelta(index=blocks[event.index], arguments=delta.partial_json)]
                            )
                    elif event.type == "message_delta":
                        reason = event.delta.stop_reason
                        yield ChatChunk(
                            finish_reason=_STOP_REASONS.get(reason or "", reason),
                            tokens=TokenCount(prompt_tokens=prompt_tokens, completion_tokens=event.usage.output_tokens),
                        )
        finally:
            await stream.close()


def _messages_kwargs(request: ChatCompletionRequest) -> dict[str, Any]:
    p = request.params
    system = "\n\n".join(m.text() for m in request.messages if m.role == "system")
    kwargs: dict[str, Any] = {
        "model": request.model,
        "max_tokens": p.max_tokens or 4096,
        "messages": _merge_turns([_wire_message(m) for m in request.messages if m.role != "system"]),
    }
    if system:
        kwargs["system"] = system
    for key in ("temperature", "top_p"):
        if getattr(p, key) is not None:
            kwargs[key] = getattr(p, key)
    if p.stop:
        kwargs["stop_sequences"] = p.stop
    if request.tools:
        kwargs["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
        ]
        if request.tool_choice == "required":
            kwargs["tool_choice"] = {"type": "any"}
        elif request.tool_choice not in (None, "auto", "none"):
            kwargs["tool_choice"] = {"type": "tool", "name": request.tool_choice}
    if request.user:
        kwargs["metadata"] = {"user_id": request.user}
    return kwargs


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.text()}],
        }
    content: list[dict[str, Any]] = []
    if isinstance(message.content, str):
        if message.content:
            content.append({"type": "text", "text": message.content})
    else:
        for part in message.content:
            content.append(_image_block(part) if isinstance(part, ImagePart) else {"type": "text", "text": part.text})
    for call in message.tool_calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.parsed_arguments()})
    return {"role": message.role, "content": content}


def _image_block(part: ImagePart) -> dict[str, Any]:
    match = _DATA_URL.match(part.url)
    if match:
        data = match["data"]
        base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4))  # fail early on garbage
        return {"type": "image", "source": {"type": "base64", "media_type": match["mime"], "data": data}}
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def _merge_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic wants alternating roles: consecutive turns of one role (e.g. several tool results) are merged."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"] = merged[-1]["content"] + message["content"]
        else:
            merged.append(message)
    return merged

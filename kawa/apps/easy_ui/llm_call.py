"""One streamed model call that ends at once when the pipeline's halt event is set, keeping what arrived."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import TypeVar

from kawa.models.pricing import estimate_tokens
from kawa.models.registry import ModelRuntime
from kawa.models.types import ChatChunk, ChatRequest, TokenCount, ToolCall, Usage

T = TypeVar("T")


async def until_set(items: AsyncGenerator[T, None], halt: asyncio.Event) -> AsyncGenerator[T, None]:
    """Items of `items` until it ends or `halt` is set; then `items` is closed (which closes an upstream stream)."""
    halted = asyncio.ensure_future(halt.wait())
    step: asyncio.Future[T] | None = None
    try:
        while not halt.is_set():
            step = asyncio.ensure_future(anext(items))
            await asyncio.wait({step, halted}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            step = None
            yield item
    finally:
        halted.cancel()
        if step is not None and not step.done():
            step.cancel()
            # The generator unwinds on the cancellation; whatever it raises while doing so no longer matters.
            with contextlib.suppress(BaseException):
                await step
        await items.aclose()


class LLMCall:
    """`async for chunk in call.stream()` relays chunks; afterwards `text`, `tool_calls`, `usage` and `halted` tell
    how it went. A halted call has no usage from the upstream, so its usage is estimated from the text."""

    def __init__(self, models: ModelRuntime, provider: str, request: ChatRequest, halt: asyncio.Event) -> None:
        self.models = models
        self.provider = provider
        self.request = request
        self.halt = halt
        self.text = ""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.halted = False
        self.chunks = 0
        self._calls: dict[int, ToolCall] = {}

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [
            call.model_copy(update={"id": call.id or f"call_{i}", "arguments": call.arguments or "{}"})
            for i, call in sorted(self._calls.items())
        ]

    async def stream(self) -> AsyncGenerator[ChatChunk, None]:
        async for chunk in until_set(self.models.chat_stream(self.provider, self.request), self.halt):
            self.chunks += 1
            self.text += chunk.text
            for delta in chunk.tool_calls:
                call = self._calls.setdefault(delta.index, ToolCall(id="", name="", arguments=""))
                call.id = call.id or (delta.id or "")
                call.name = call.name or (delta.name or "")
                call.arguments += delta.arguments
            if chunk.finish_reason:
                self.finish_reason = chunk.finish_reason
            if chunk.usage is not None:
                self.usage = chunk.usage
            yield chunk
        if self.usage is None:
            self.halted = True
            self.usage = self._estimated_usage()

    def _estimated_usage(self) -> Usage:
        try:
            target = self.models.resolve_chat(self.provider, self.request.model)
        except Exception:
            return Usage()
        prompt = "".join(m.text() for m in self.request.messages)
        produced = self.text + "".join(c.arguments for c in self._calls.values())
        tokens = TokenCount(prompt_tokens=estimate_tokens(prompt), completion_tokens=estimate_tokens(produced))
        return self.models.usage_of(target.provider_name, target.model, tokens)

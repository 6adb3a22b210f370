"""One streamed model call that ends at once when the pipeline's halt event is set, keeping what arrived."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import TypeVar

from kawa.models.pricing import estimate_tokens
from kawa.models.registry import ModelRuntime
from kawa.models.tool_calls import ToolCallAccumulator
from kawa.models.types import ChatChunk, ChatCompletionRequest, TokenCount, ToolCall, Usage

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

    def __init__(
        self, models: ModelRuntime, provider: str, request: ChatCompletionRequest, halt: asyncio.Event
    ) -> None:
        self.models = models
        self.provider = provider
        self.request = request
        self.halt = halt
        self.text = ""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.halted = False
        self.chunks = 0
        self._calls = ToolCallAccumulator()

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self._calls.calls()

    async def stream(self) -> AsyncGenerator[ChatChunk, None]:
        async for chunk in until_set(self.models.chat_stream(self.provider, self.request), self.halt):
            self.chunks += 1
            self.text += chunk.text
            self._calls.add(chunk.tool_calls)
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
        produced = self.text + self._calls.arguments_text()
        tokens = TokenCount(prompt_tokens=estimate_tokens(prompt), completion_tokens=estimate_tokens(produced))
        return self.models.usage_of(target.provider_name, target.model, tokens)

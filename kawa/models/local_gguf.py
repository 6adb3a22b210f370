"""A local GGUF chat model through llama-cpp-python (optional extra `kawa[local-llm]`).

A `Llama` object is not thread-safe, so each model has one lock; generation runs in a worker thread and streams
back to asyncio through a queue, and a stop flag checked between tokens makes cancellation take effect at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, cast

from kawa.errors import CompletionRequestError, ProviderNotInitialized
from kawa.models.provider import Capability, ModelProvider
from kawa.models.types import ChatChunk, ChatCompletionRequest, TokenCount

# What the generating thread hands the event loop: a chunk, the error that ended it, or None when it is done.
_Handoff = ChatChunk | BaseException | None


class _ChunkStream(Protocol):
    def __iter__(self) -> Iterator[dict[str, Any]]: ...
    def close(self) -> None: ...


class _Llama(Protocol):
    """What kawa uses of `llama_cpp.Llama`: token counts and streamed chat completions."""

    def tokenize(self, text: bytes, add_bos: bool = ...) -> list[int]: ...
    def create_chat_completion(self, messages: list[dict[str, str]], **kwargs: Any) -> _ChunkStream: ...
    def close(self) -> None: ...


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class LocalGGUFProvider(ModelProvider):
    capabilities = frozenset({Capability.CHAT, Capability.STRUCTURED_OUTPUT})
    in_process = True

    def __init__(self, name: str, model_path: Path, *, threads: int = 2, context_size: int = 4096) -> None:
        self.name = name
        self.model_path = Path(model_path)
        self._threads = threads
        self._context_size = context_size
        self._llama: _Llama | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> _Llama:
        """Called with the lock held."""
        if self._llama is None:
            if not available():
                raise ProviderNotInitialized(
                    f"Provider {self.name}: llama-cpp-python is not installed (pip install 'kawa[local-llm]')."
                )
            if not self.model_path.is_file():
                raise ProviderNotInitialized(f"Provider {self.name}: the GGUF file {self.model_path.name} is missing.")
            from llama_cpp import Llama

            # A cast: llama_cpp types messages as TypedDicts and returns a union over `stream`; kawa always streams.
            self._llama = cast(
                "_Llama",
                Llama(
                    model_path=str(self.model_path),
                    n_ctx=self._context_size,
                    n_threads=self._threads,
                    n_threads_batch=self._threads,
                    verbose=False,
                ),
            )
        return self._llama

    def _generate(
        self, request: ChatCompletionRequest, emit: Callable[[_Handoff], None], stop: threading.Event
    ) -> None:
        with self._lock:
            llama = self._loaded()
            messages = [{"role": m.role if m.role != "tool" else "user", "content": m.text()} for m in request.messages]
            p = request.params
            kwargs: dict[str, Any] = {"max_tokens": p.max_tokens or 512, "stop": p.stop or None}
            for key in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed"):
                if getattr(p, key) is not None:
                    kwargs[key] = getattr(p, key)
            fmt = request.response_format
            if fmt is not None and fmt.type != "text":
                kwargs["response_format"] = (
                    {"type": "json_object", "schema": fmt.json_schema} if fmt.json_schema else {"type": "json_object"}
                )
            prompt_tokens = sum(len(llama.tokenize(m["content"].encode(), add_bos=False)) + 4 for m in messages)
            completion_tokens = 0
            stream = llama.create_chat_completion(messages, stream=True, **kwargs)
            try:
                for chunk in stream:
                    if stop.is_set():
                        break
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content") or ""
                    if text:
                        completion_tokens += 1
                    emit(ChatChunk(text=text, finish_reason=choice.get("finish_reason")))
            finally:
                stream.close()
            emit(ChatChunk(tokens=TokenCount(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)))

    async def chat_stream(self, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Handoff] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: _Handoff) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                self._generate(request, emit, stop)
            except BaseException as error:  # handed to the event loop, which raises it in the consumer
                emit(error)
            finally:
                emit(None)

        worker = loop.run_in_executor(None, run)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, ProviderNotInitialized):
                    raise item
                if isinstance(item, BaseException):
                    raise CompletionRequestError(f"[{self.name}] {type(item).__name__}: {item}") from None
                yield item
        finally:
            stop.set()
            # The worker sees the flag before its next token; waiting keeps "nothing left running" true.
            await asyncio.shield(worker)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._unload)

    def _unload(self) -> None:
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

"""A protocol-faithful OpenAI-compatible server on loopback, for tests and benchmarks.

It speaks the wire format the `openai` SDK expects (SSE `chat.completion.chunk`s with deltas, tool call fragments,
usage in a final chunk when `stream_options.include_usage` is set, `data: [DONE]`, OpenAI error bodies) and misbehaves
on demand: an HTTP status (429 with `Retry-After`), a hang before any header, an error event mid-stream, a malformed
chunk, a stall mid-stream, a connection cut mid-stream. Behaviour is chosen per model name
with `FakeOpenAI.on_model(name, Scenario(...))`. `POST /v1/messages` speaks Anthropic's Messages API (SSE events)
from the same scenarios, for the Anthropic provider's tests. Every request is recorded; every stream's end is
recorded too, so a test can see that a client closed its stream early.

    with FakeOpenAI() as fake:
        fake.on_model("slow", Scenario(chunk_delay_s=0.05))
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test")
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Scenario:
    text: str = "Hello from the fake upstream."
    reasoning: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    finish_reason: str | None = None  # default: "tool_calls" when there are tool calls, else "stop"
    chunk_delay_s: float = 0.0
    status: int | None = None  # answer with this HTTP status and an OpenAI error body
    error_message: str = "Upstream failure."
    error_code: str | None = None
    fail_times: int | None = None  # the status applies to the first N requests only
    error_after_chunks: int | None = None  # send N content chunks, then an error event
    malformed_after_chunks: int | None = None  # send N content chunks, then a chunk that is not JSON
    stall_after_chunks: int | None = None  # send N content chunks, then go silent
    stall_s: float = 30.0
    omit_usage: bool = False  # behave like servers that ignore stream_options
    retry_after_s: float | None = None  # with `status`: send a `Retry-After` header (seconds)
    hang_before_headers_s: float | None = None  # accept the request, then say nothing (no status line) this long
    drop_after_chunks: int | None = None  # send N content chunks, then cut the connection (no [DONE], no finish)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StreamRecord:
    model: str
    chunks_sent: int = 0  # SSE events sent, the role chunk included
    completed: bool = False
    client_closed: bool = False
    ended_at: float | None = None


def _words(text: str) -> list[str]:
    """The text split into pieces that concatenate back to it (each word keeps its leading space)."""
    pieces: list[str] = []
    for i, word in enumerate(text.split(" ")):
        pieces.append(word if i == 0 else " " + word)
    return [p for p in pieces if p]


def _stream_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _stream_events(model: str, s: Scenario) -> list[dict[str, Any]]:
    """The chunks of a streamed answer: role, reasoning words, text words, each tool call (name, then its arguments
    in two halves), then the finish reason."""
    events = [_stream_chunk(model, {"role": "assistant", "content": ""})]
    events += [_stream_chunk(model, {"content": None, "reasoning_content": w}) for w in _words(s.reasoning)]
    events += [_stream_chunk(model, {"content": piece}) for piece in _words(s.text)]
    for i, (name, args) in enumerate(s.tool_calls):
        call = {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}
        events.append(_stream_chunk(model, {"tool_calls": [call]}))
        text = json.dumps(args)
        half = len(text) // 2
        for part in (text[:half], text[half:]):
            events.append(_stream_chunk(model, {"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
    finish = s.finish_reason or ("tool_calls" if s.tool_calls else "stop")
    events.append(_stream_chunk(model, {}, finish))
    return events


def fake_embedding(text: str, dims: int = 16) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 128) / 128 for i in range(dims)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class _DroppedStream(Exception):
    """Raised inside a stream to make the server cut the connection, as a crashed upstream or proxy does."""


def _not_a_dropped_stream(record: logging.LogRecord) -> bool:
    """uvicorn logs the exception that cut a stream with its traceback; a cut on purpose is not worth one."""
    return not (record.exc_info and record.exc_info[0] is _DroppedStream)


class FakeOpenAI:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.scenarios: dict[str, Scenario] = {}
        self.requests: list[Recorded] = []
        self.streams: list[StreamRecord] = []
        self.transcript = "This is the transcript."
        self._failures: dict[str, int] = {}
        self._turns: dict[str, list[Scenario]] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        if _not_a_dropped_stream not in logging.getLogger("uvicorn.error").filters:
            logging.getLogger("uvicorn.error").addFilter(_not_a_dropped_stream)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_keep_alive=5, interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def on_model(self, model: str, scenario: Scenario) -> None:
        self.scenarios[model] = scenario
        self._failures.pop(model, None)

    def on_model_in_turn(self, model: str, scenarios: list[Scenario]) -> None:
        """Answer successive requests for `model` with these scenarios; the last one repeats."""
        self._turns[model] = list(scenarios)
        self.on_model(model, scenarios[0])

    def _scenario(self, model: str) -> Scenario:
        turns = self._turns.get(model)
        if turns:
            self.scenarios[model] = turns.pop(0) if len(turns) > 1 else turns[0]
        return self.scenarios.get(model, Scenario())

    def reset(self) -> None:
        self.scenarios.clear()
        self._turns.clear()
        self.requests.clear()
        self.streams.clear()
        self._failures.clear()

    def wait_stream_ended(self, timeout: float = 5.0) -> StreamRecord:
        """The last stream, once it has ended (completed or closed by the client)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.streams and self.streams[-1].ended_at is not None:
                return self.streams[-1]
            time.sleep(0.01)
        raise AssertionError("the stream did not end in time")

    # ---- ASGI -------------------------------------------------------------------------------------------------

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        body: Any = raw
        if headers.get("content-type", "").startswith("application/json") and raw:
            body = json.loads(raw)
        self.requests.append(Recorded(scope["method"], path, headers, body))
        if path == "/v1/messages":
            await self._anthropic_messages(body, headers, receive, send)
            return
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            # Real upstreams echo (part of) the key; this one echoes all of it, the worst case for leaks.
            given = headers.get("authorization", "").removeprefix("Bearer ")
            await self._error(send, 401, f"Incorrect API key provided: {given}.", "invalid_api_key")
            return
        route = path.removeprefix("/v1")
        if route == "/chat/completions" and scope["method"] == "POST":
            await self._chat(body, receive, send)
        elif route == "/embeddings":
            model = body.get("model", "")
            if await self._failed(model, self._scenario(model), send):  # a scenario's status applies here too
                return
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [{"object": "embedding", "index": i, "embedding": fake_embedding(t)} for i, t in enumerate(inputs)]
            tokens = sum(len(t.split()) for t in inputs)
            await self._json(
                send,
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )
        elif route == "/rerank":
            query = set(body["query"].lower().split())
            scored = [
                (i, len(query & set(d.lower().split())) / (len(query) or 1)) for i, d in enumerate(body["documents"])
            ]
            scored.sort(key=lambda x: x[1], reverse=True)
            results = [{"index": i, "relevance_score": s} for i, s in scored[: body.get("top_n") or len(scored)]]
            await self._json(send, 200, {"model": body["model"], "results": results})
        elif route == "/audio/transcriptions":
            await self._json(send, 200, {"text": self.transcript})
        elif route == "/audio/speech":
            await self._bytes(send, 200, b"ID3fake-mp3-bytes", "audio/mpeg")
        elif route == "/moderations":
            flagged = "kill" in json.dumps(body).lower()
            await self._json(
                send,
                200,
                {
                    "id": "modr-1",
                    "model": "omni-moderation-latest",
                    "results": [
                        {
                            "flagged": flagged,
                            "categories": {"violence": flagged, "hate": False},
                            "category_scores": {"violence": 0.9 if flagged else 0.01, "hate": 0.0},
                        }
                    ],
                },
            )
        elif route == "/models":
            names = sorted(self.scenarios) or ["fake-model"]
            await self._json(
                send,
                200,
                {
                    "object": "list",
                    "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names],
                },
            )
        else:
            await self._error(send, 404, f"Unknown path {path}", None)

    async def _failed(self, model: str, scenario: Scenario, send: Send) -> bool:
        """Answer with the scenario's error status while it has failures left; True when it did."""
        if scenario.status is not None:
            used = self._failures.get(model, 0)
            if scenario.fail_times is None or used < scenario.fail_times:
                self._failures[model] = used + 1
                await self._error(
                    send, scenario.status, scenario.error_message, scenario.error_code, scenario.retry_after_s
                )
                return True
        return False

    async def _chat(self, body: dict[str, Any], receive: Receive, send: Send) -> None:
        model = body.get("model", "")
        scenario = self._scenario(model)
        if await self._failed(model, scenario, send):
            return
        if scenario.hang_before_headers_s is not None and await self._hang(receive, scenario.hang_before_headers_s):
            return
        prompt_tokens = sum(len(json.dumps(m.get("content", "")).split()) for m in body.get("messages", []))
        if not body.get("stream"):
            await self._json(send, 200, self._completion(model, scenario, prompt_tokens))
            return
        await self._stream(body, model, scenario, prompt_tokens, receive, send)

    def _completion(self, model: str, scenario: Scenario, prompt_tokens: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": scenario.text or None}
        if scenario.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                for i, (n, a) in enumerate(scenario.tool_calls)
            ]
        completion_tokens = len(_words(scenario.text))
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": scenario.finish_reason or ("tool_calls" if scenario.tool_calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    async def _stream(
        self, body: dict[str, Any], model: str, s: Scenario, prompt_tokens: int, receive: Receive, send: Send
    ) -> None:
        record = StreamRecord(model=model)
        self.streams.append(record)
        disconnected = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()

        watcher = asyncio.create_task(watch())

        async def emit(payload: dict[str, Any] | str) -> bool:
            """Send one SSE event after the scenario's delay; False once the client has gone."""
            if s.chunk_delay_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(disconnected.wait(), s.chunk_delay_s)
            if disconnected.is_set():
                return False
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})
            return True

        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-cache"),
                    ],
                }
            )
            for n, event in enumerate(_stream_events(model, s)):
                sent = n - 1  # content chunks sent so far (the role chunk does not count)
                if await self._misbehave(s, sent, emit, disconnected):
                    return
                if not await emit(event):
                    return
                record.chunks_sent += 1
            include_usage = (body.get("stream_options") or {}).get("include_usage") and not s.omit_usage
            if include_usage:
                completion_tokens = len(_words(s.text)) + len(_words(s.reasoning)) + 2 * len(s.tool_calls)
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                }
                if not await emit(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                ):
                    return
            if await emit("[DONE]"):
                record.completed = True
        except OSError:
            pass
        except _DroppedStream:
            record.ended_at = time.monotonic()
            raise
        finally:
            watcher.cancel()
            record.client_closed = disconnected.is_set()
            if record.ended_at is None:
                record.ended_at = time.monotonic()
                with contextlib.suppress(Exception):  # the client may be gone: nothing to finish then
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _misbehave(
        s: Scenario, sent: int, emit: Callable[[dict[str, Any] | str], Awaitable[bool]], disconnected: asyncio.Event
    ) -> bool:
        """The scenario's fault once `sent` content chunks are out, if it has one there; True: the stream ends."""
        if s.error_after_chunks is not None and sent == s.error_after_chunks:
            await emit({"error": {"message": s.error_message, "type": "server_error", "code": s.error_code}})
            return True
        if s.malformed_after_chunks is not None and sent == s.malformed_after_chunks:
            await emit('{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "tru')
            return True
        if s.drop_after_chunks is not None and sent == s.drop_after_chunks:
            raise _DroppedStream  # uvicorn closes the socket mid-body: the client sees a broken stream
        if s.stall_after_chunks is not None and sent == s.stall_after_chunks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(disconnected.wait(), s.stall_s)
            return True
        return False

    @staticmethod
    async def _hang(receive: Receive, seconds: float) -> bool:
        """Wait `seconds` without answering; True when the client gave up (disconnected) first."""

        async def disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        try:
            await asyncio.wait_for(disconnect(), seconds)
        except TimeoutError:
            return False
        return True

    async def _anthropic_messages(
        self, body: dict[str, Any], headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        def error(status: int, kind: str, message: str) -> Awaitable[None]:
            return self._json(send, status, {"type": "error", "error": {"type": kind, "message": message}})

        # Older SDKs send `x-api-key`, newer ones a bearer token: both are accepted upstream.
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key is not None and given != self.api_key:
            await error(401, "authentication_error", f"invalid x-api-key {given}")
            return
        model = body.get("model", "")
        s = self._scenario(model)
        if s.status is not None:
            used = self._failures.get(model, 0)
            if s.fail_times is None or used < s.fail_times:
                self._failures[model] = used + 1
                kinds = {429: "rate_limit_error", 529: "overloaded_error", 400: "invalid_request_error"}
                await error(s.status, kinds.get(s.status, "api_error"), s.error_message)
                return
        if s.hang_before_headers_s is not None and await self._hang(receive, s.hang_before_headers_s):
            return
        prompt_tokens = len(json.dumps(body.get("messages", [])).split())
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "content": [],
                        "model": model,
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": prompt_tokens, "output_tokens": 1},
                    },
                },
            )
        ]
        index = 0

        def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
            nonlocal index
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            )
            for delta in deltas:
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1

        if s.reasoning:
            block(
                {"type": "thinking", "thinking": ""},
                [{"type": "thinking_delta", "thinking": w} for w in _words(s.reasoning)],
            )
        if s.text:
            block({"type": "text", "text": ""}, [{"type": "text_delta", "text": w} for w in _words(s.text)])
        for i, (name, args) in enumerate(s.tool_calls):
            text = json.dumps(args)
            block(
                {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": {}},
                [
                    {"type": "input_json_delta", "partial_json": text[: len(text) // 2]},
                    {"type": "input_json_delta", "partial_json": text[len(text) // 2 :]},
                ],
            )
        completion_tokens = len(_words(s.text)) + len(_words(s.reasoning)) + 2 * len(s.tool_calls)
        stop = "tool_use" if s.tool_calls else "end_turn"
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": completion_tokens},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
            }
        )
        for name, payload in events:
            data = f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _json(send: Send, status: int, payload: Any) -> None:
        await FakeOpenAI._bytes(send, status, json.dumps(payload).encode(), "application/json")

    @staticmethod
    async def _bytes(send: Send, status: int, data: bytes, content_type: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    async def _error(
        send: Send, status: int, message: str, code: str | None, retry_after_s: float | None = None
    ) -> None:
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded", 404: "invalid_request_error"}
        error = {"message": message, "type": kind.get(status, "server_error"), "param": None, "code": code}
        data = json.dumps({"error": error}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        if retry_after_s is not None:
            headers.append((b"retry-after", f"{retry_after_s:g}".encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

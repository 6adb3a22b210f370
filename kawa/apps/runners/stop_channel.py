"""`StopChannel`: stop requests between kawa processes over Redis pub/sub, answered once the run has ended.

A stop request for a task this process does not run is published; every process listens, and each answers on a
second channel: the one that runs the task stops it, waits for it to end (its record is written by then) and answers
`stopped`; the others answer at once that they do not run it. The requester returns on the `stopped` answer, or when
every listener has said no, or after a bound — so a stop endpoint can answer after the run really ended.

Redis may come and go: the listener reconnects with backoff and resumes; while Redis is away the process is degraded
(`link` says so), stops of runs in other processes cannot be delivered, and `stop_elsewhere` says that with
`CrossProcessStopUnavailable` instead of pretending. Without Redis there is one process, and the channel does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from kawa.errors import KawaError
from kawa.net.reconnect import Backoff, LinkState, redis_client

log = logging.getLogger("kawa.tasks")
STOP_CHANNEL = "kawa:task-stop"
ANSWER_CHANNEL = "kawa:task-stop-answer"
START_WAIT_S = 5.0
"""How long `start()` waits for the first connection before the process starts degraded."""
PING_AFTER_IDLE_S = 5.0
DEAD_AFTER_SILENT_S = 10.0
"""A pub/sub link that has not answered a ping for this long is treated as lost (a silently cut connection)."""


class CrossProcessStopUnavailable(KawaError):
    code = "service_unavailable"
    status = 503
    default_message = (
        "The run is not running in this server process, and stop requests cannot reach the other processes "
        "right now. Please try again shortly."
    )


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Stop `task_id`, if it belongs to this app and end user. `request_id` pairs the answers with the request."""

    task_id: str
    app_id: str
    end_user_id: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        return json.dumps(
            {
                "task_id": self.task_id,
                "app_id": self.app_id,
                "end_user_id": self.end_user_id,
                "request_id": self.request_id,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> StopRequest | None:
        request = _json_object(raw)
        if request is None:
            return None
        return cls(
            task_id=str(request.get("task_id", "")),
            app_id=str(request.get("app_id", "")),
            end_user_id=str(request.get("end_user_id", "")),
            request_id=str(request.get("request_id", "")),
        )


@dataclass
class _PendingStop:
    """A published request waiting for its answers."""

    stopped: asyncio.Future[bool]
    expected: int | None = None
    declined: int = 0

    def answer(self, stopped: bool) -> None:
        if self.stopped.done():
            return
        if stopped:
            self.stopped.set_result(True)
            return
        self.declined += 1
        self._settle()

    def expect(self, listeners: int) -> None:
        self.expected = listeners
        self._settle()

    def _settle(self) -> None:
        if self.expected is not None and self.declined >= self.expected and not self.stopped.done():
            self.stopped.set_result(False)


class StopChannel:
    """Publishes stop requests and hands the ones it receives to `on_request`, which stops the task when this
    process runs it, waits for it to end and returns True (False when the task is not here)."""

    def __init__(self, redis_url: str | None, on_request: Callable[[StopRequest], Awaitable[bool]]) -> None:
        self._redis_url = redis_url
        self._on_request = on_request
        self._redis: redis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self._pending: dict[str, _PendingStop] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self.link: LinkState | None = LinkState("redis") if redis_url else None

    async def start(self) -> None:
        """Begin listening. Waits for the first connection at most `START_WAIT_S`; without it, starts degraded and
        keeps trying in the background."""
        if not self._redis_url:
            return
        self._redis = redis_client(self._redis_url)
        self._listener = asyncio.create_task(self._listen(self._redis), name="kawa-stop-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), timeout=START_WAIT_S)
        if self.link is not None and not self.link.connected:
            log.warning("Redis is unreachable: starting without cross-process stop; retrying in the background")

    async def close(self) -> None:
        for task in [*self._handlers, *([self._listener] if self._listener else [])]:
            task.cancel()
        for task in [*self._handlers, *([self._listener] if self._listener else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            await self._redis.aclose()

    async def stop_elsewhere(self, request: StopRequest, *, timeout: float) -> bool:
        """Ask the other processes to stop the task; True once the one running it has stopped it (and it ended).

        False when no process runs it, or none answered within `timeout`. Raises `CrossProcessStopUnavailable`
        while Redis is away (the request cannot be delivered)."""
        if self._redis is None or self.link is None:
            return False
        if not self.link.connected:
            raise CrossProcessStopUnavailable()
        pending = _PendingStop(asyncio.get_running_loop().create_future())
        self._pending[request.request_id] = pending
        try:
            try:
                listeners = await self._redis.publish(STOP_CHANNEL, request.to_json())
            except (RedisError, OSError) as exc:
                raise CrossProcessStopUnavailable() from exc
            pending.expect(listeners)
            try:
                return await asyncio.wait_for(asyncio.shield(pending.stopped), timeout)
            except TimeoutError:
                log.warning("no process confirmed the stop of task %s within %.1f s", request.task_id, timeout)
                return False
        finally:
            del self._pending[request.request_id]

    async def _listen(self, client: redis.Redis) -> None:
        assert self.link is not None
        backoff = Backoff()
        while True:
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(STOP_CHANNEL, ANSWER_CHANNEL)
                if self.link.mark_up() and self.link.reconnects:
                    log.warning("Redis is back: cross-process stop resumed")
                backoff.reset()
                self._first_attempt.set()
                await self._receive(pubsub)
            except (RedisError, OSError) as exc:
                if self.link.mark_down():
                    log.warning("lost Redis (%s): cross-process stop is off until it returns", type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose untyped
            self._first_attempt.set()
            await asyncio.sleep(backoff.next())

    async def _receive(self, pubsub: redis.client.PubSub) -> None:
        """Handle messages until the link fails; a silent link is pinged, and one that stays silent is lost."""
        heard = time.monotonic()
        pinged = False
        while True:
            message: dict[str, Any] | None = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            now = time.monotonic()
            if message is not None:
                heard, pinged = now, False
                self._dispatch(message)
            elif now - heard > DEAD_AFTER_SILENT_S:
                raise ConnectionError("Redis did not answer a ping")
            elif now - heard > PING_AFTER_IDLE_S and not pinged:
                await pubsub.ping()
                pinged = True

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel = message.get("channel")
        if channel in (STOP_CHANNEL, STOP_CHANNEL.encode()):
            request = StopRequest.from_json(message["data"])
            if request is not None:
                handler = asyncio.create_task(self._handle(request), name="kawa-stop-request")
                self._handlers.add(handler)
                handler.add_done_callback(self._handlers.discard)
            return
        answer = _json_object(message["data"])
        pending = self._pending.get(str(answer.get("request_id", ""))) if answer else None
        if answer is not None and pending is not None:
            pending.answer(bool(answer.get("stopped")))

    async def _handle(self, request: StopRequest) -> None:
        try:
            stopped = await self._on_request(request)
        except Exception:
            log.exception("could not stop task %s", request.task_id)
            stopped = False
        if self._redis is None:
            return
        answer = json.dumps({"request_id": request.request_id, "task_id": request.task_id, "stopped": stopped})
        try:
            await self._redis.publish(ANSWER_CHANNEL, answer)
        except (RedisError, OSError):
            log.warning("could not answer the stop request of task %s: Redis is unreachable", request.task_id)


def _json_object(raw: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None

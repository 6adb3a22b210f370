"""`StopChannel`: stop requests between kawa processes over a `Broadcast` (Redis pub/sub, or the worker hub of
`kawa serve --workers N`), answered once the run has ended.

A stop request for a task this process does not run is published; every process listens, and each answers on a
second channel: the one that runs the task stops it, waits for it to end (its record is written by then) and answers
`stopped`; the others answer at once that they do not run it. The requester returns on the `stopped` answer, or when
every listener has said no, or after a bound — so a stop endpoint can answer after the run really ended.

Redis may come and go: the listener reconnects with backoff and resumes; while Redis is away the process is degraded
(`link` says so), stops of runs in other processes cannot be delivered, and `stop_elsewhere` says that with
`CrossProcessStopUnavailable` instead of pretending. With no transport there is one process, and the channel does
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kawa.apps.runners.broadcast import DEAD_AFTER_SILENT_S, Broadcast, BroadcastUnavailable, RedisBroadcast
from kawa.errors import KawaError
from kawa.net.reconnect import LinkState

log = logging.getLogger("kawa.tasks")
STOP_CHANNEL = "kawa:task-stop"
ANSWER_CHANNEL = "kawa:task-stop-answer"
__all__ = ["DEAD_AFTER_SILENT_S", "CrossProcessStopUnavailable", "StopChannel", "StopRequest"]


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
    process runs it, waits for it to end and returns True (False when the task is not here).

    The transport is a `Broadcast`: Redis pub/sub when `redis_url` is given (processes on any host), or the one
    passed in (the worker hub of `kawa serve --workers N`); with neither there is one process and it does nothing."""

    def __init__(
        self,
        redis_url: str | None,
        on_request: Callable[[StopRequest], Awaitable[bool]],
        *,
        broadcast: Broadcast | None = None,
    ) -> None:
        self._on_request = on_request
        self._broadcast = broadcast if broadcast is not None else RedisBroadcast(redis_url) if redis_url else None
        self._pending: dict[str, _PendingStop] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        if self._broadcast is not None:
            self._broadcast.subscribe(STOP_CHANNEL, self._on_stop_request)
            self._broadcast.subscribe(ANSWER_CHANNEL, self._on_answer)

    @property
    def link(self) -> LinkState | None:
        """The link to the other processes (None when there are none)."""
        return self._broadcast.link if self._broadcast is not None else None

    @property
    def broadcast(self) -> Broadcast | None:
        """The transport to the other processes (None when there are none)."""
        return self._broadcast

    async def start(self) -> None:
        """Begin listening (a Redis transport that is down starts degraded and keeps trying in the background)."""
        if self._broadcast is not None:
            await self._broadcast.start()

    async def close(self) -> None:
        for task in self._handlers:
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._broadcast is not None:
            await self._broadcast.close()

    async def stop_elsewhere(self, request: StopRequest, *, timeout: float) -> bool:
        """Ask the other processes to stop the task; True once the one running it has stopped it (and it ended).

        False when no process runs it, or none answered within `timeout`. Raises `CrossProcessStopUnavailable`
        while the transport is down (the request cannot be delivered)."""
        if self._broadcast is None:
            return False
        pending = _PendingStop(asyncio.get_running_loop().create_future())
        self._pending[request.request_id] = pending
        try:
            try:
                listeners = await self._broadcast.publish(STOP_CHANNEL, request.to_json())
            except BroadcastUnavailable as exc:
                raise CrossProcessStopUnavailable() from exc
            pending.expect(listeners)
            try:
                return await asyncio.wait_for(asyncio.shield(pending.stopped), timeout)
            except TimeoutError:
                log.warning("no process confirmed the stop of task %s within %.1f s", request.task_id, timeout)
                return False
        finally:
            del self._pending[request.request_id]

    def _on_stop_request(self, raw: str) -> None:
        request = StopRequest.from_json(raw)
        if request is not None:
            handler = asyncio.create_task(self._handle(request), name="kawa-stop-request")
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)

    def _on_answer(self, raw: str) -> None:
        answer = _json_object(raw)
        pending = self._pending.get(str(answer.get("request_id", ""))) if answer else None
        if answer is not None and pending is not None:
            pending.answer(bool(answer.get("stopped")))

    async def _handle(self, request: StopRequest) -> None:
        try:
            stopped = await self._on_request(request)
        except Exception:
            log.exception("could not stop task %s", request.task_id)
            stopped = False
        if self._broadcast is None:
            return
        answer = json.dumps({"request_id": request.request_id, "task_id": request.task_id, "stopped": stopped})
        try:
            await self._broadcast.publish(ANSWER_CHANNEL, answer)
        except BroadcastUnavailable:
            log.warning("could not answer the stop request of task %s: the link is down", request.task_id)


def _json_object(raw: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None

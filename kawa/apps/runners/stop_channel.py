"""`StopChannel`: stop requests between kawa processes over Redis pub/sub.

A stop request for a task this process does not run is published; every process listens and stops the task if it
runs it (within a few ms). Without Redis there is one process, and the channel does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as redis

log = logging.getLogger("kawa.tasks")
STOP_CHANNEL = "kawa:task-stop"


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Stop `task_id`, if it belongs to this app and end user."""

    task_id: str
    app_id: str
    end_user_id: str

    def to_json(self) -> str:
        return json.dumps({"task_id": self.task_id, "app_id": self.app_id, "end_user_id": self.end_user_id})

    @classmethod
    def from_json(cls, raw: str | bytes) -> StopRequest | None:
        try:
            request = json.loads(raw)
        except (ValueError, TypeError):
            return None
        if not isinstance(request, dict):
            return None
        return cls(
            task_id=str(request.get("task_id", "")),
            app_id=str(request.get("app_id", "")),
            end_user_id=str(request.get("end_user_id", "")),
        )


class StopChannel:
    """Publishes stop requests and hands the ones it receives to `on_request`."""

    def __init__(self, redis_url: str | None, on_request: Callable[[StopRequest], object]) -> None:
        self._redis_url = redis_url
        self._on_request = on_request
        self._redis: redis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        if not self._redis_url:
            return
        self._redis = redis.from_url(self._redis_url)
        self._listener = asyncio.create_task(self._listen(self._redis), name="kawa-stop-listener")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, request: StopRequest) -> None:
        if self._redis is not None:
            await self._redis.publish(STOP_CHANNEL, request.to_json())

    async def _listen(self, client: redis.Redis) -> None:
        pubsub = client.pubsub()
        await pubsub.subscribe(STOP_CHANNEL)
        self._ready.set()
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                request = StopRequest.from_json(message["data"])
                if request is not None:
                    self._on_request(request)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose untyped

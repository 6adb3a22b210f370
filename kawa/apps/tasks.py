"""Running tasks and stop requests.

Each run registers its task id with a stop event. A stop request sets the event when the task runs in this process;
with Redis configured it is also published, so the process that owns the task stops it (within a few ms either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kawa.tasks")
STOP_CHANNEL = "kawa:task-stop"


@dataclass
class RunningTask:
    task_id: str
    app_id: str
    end_user_id: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class TaskRegistry:
    def __init__(self, redis_url: str | None = None) -> None:
        self._tasks: dict[str, RunningTask] = {}
        self._redis_url = redis_url
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        if not self._redis_url:
            return
        import redis.asyncio as redis

        self._redis = redis.from_url(self._redis_url)
        self._listener = asyncio.create_task(self._listen(), name="kawa-stop-listener")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(STOP_CHANNEL)
        self._ready.set()
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    request = json.loads(message["data"])
                except (ValueError, TypeError):
                    continue
                self._stop_local(request.get("task_id", ""), request.get("app_id", ""), request.get("end_user_id", ""))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    @contextlib.contextmanager
    def register(self, task_id: str, app_id: str, end_user_id: str) -> Iterator[RunningTask]:
        task = RunningTask(task_id=task_id, app_id=app_id, end_user_id=end_user_id)
        self._tasks[task_id] = task
        try:
            yield task
        finally:
            self._tasks.pop(task_id, None)

    def _stop_local(self, task_id: str, app_id: str, end_user_id: str) -> bool:
        task = self._tasks.get(task_id)
        if task is None or task.app_id != app_id or task.end_user_id != end_user_id:
            return False
        task.stop.set()
        return True

    async def request_stop(self, task_id: str, app_id: str, end_user_id: str) -> None:
        """Stop the task wherever it runs. The caller has checked that this end user owns it."""
        if self._stop_local(task_id, app_id, end_user_id):
            return
        if self._redis is not None:
            payload = json.dumps({"task_id": task_id, "app_id": app_id, "end_user_id": end_user_id})
            await self._redis.publish(STOP_CHANNEL, payload)

    def running_count(self, app_id: str) -> int:
        return sum(1 for task in self._tasks.values() if task.app_id == app_id)

"""`TaskHandle`: the client's side of a run or message executing in its own task — its event queue (streaming),
its final result (blocking), and a way to wait for the task to end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


def _new_future() -> asyncio.Future[dict[str, Any]]:
    return asyncio.get_running_loop().create_future()


@dataclass(kw_only=True)
class TaskHandle:
    task_id: str
    streaming: bool
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    result: asyncio.Future[dict[str, Any]] = field(default_factory=_new_future)
    task: asyncio.Task[None] | None = None
    ended: bool = False
    """The stream has been ended (its last event queued)."""

    def put(self, message: dict[str, Any]) -> None:
        """Queue a stream event (dropped for blocking requests, which only get the result)."""
        if self.streaming:
            self.queue.put_nowait(message)

    def end_stream(self) -> None:
        if not self.ended:
            self.ended = True
            self.queue.put_nowait(None)

    async def stream(self) -> AsyncIterator[dict[str, Any]]:
        while (message := await self.queue.get()) is not None:
            yield message

    async def blocking_result(self) -> dict[str, Any]:
        return await asyncio.shield(self.result)

    async def wait_done(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the task to end, without cancelling it."""
        if self.task is not None:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self.task), timeout)

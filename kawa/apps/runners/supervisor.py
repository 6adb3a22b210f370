"""`TaskSupervisor`: the one owner of the tasks that run workflow runs and messages.

It admits a request against the app's concurrency limit (`max_active_requests`), spawns its task with a stop event,
keeps its handle until the task ends, stops it (here, or through Redis in the process that runs it), waits for it to
end, and cancels every task at shutdown. Admission is synchronous — counting and taking a slot happen with no await
in between — so concurrent requests of one process can never exceed the limit; with Redis, `admit_globally` then
takes a slot counted across processes (`active_requests.py`). It also owns the conversation queue, through which
the messages of one conversation take turns (`conversation_queue.py`).

What crosses processes goes through Redis when `redis_url` is set (any host), else through `hub`, the link to the
parent of `kawa serve --workers N` (the workers of one host), else nowhere (one process).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.exceptions import RedisError

from kawa.apps.runners.active_requests import SharedActiveRequests, SharedSlots
from kawa.apps.runners.broadcast import Broadcast
from kawa.apps.runners.conversation_queue import ConversationQueue
from kawa.apps.runners.hub_link import WorkerHubLink
from kawa.apps.runners.stop_channel import StopChannel, StopRequest
from kawa.apps.runners.task_handle import TaskHandle
from kawa.errors import TASK_ID, TooManyRequests
from kawa.net.reconnect import LinkState

log = logging.getLogger("kawa.tasks")
HandleT = TypeVar("HandleT", bound=TaskHandle)
TaskWork = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""What a supervised task does, given its stop event."""
STOP_WAIT_S = 2.0
"""How long a stop of another process's task waits for that task to end."""


@dataclass
class AdmissionSlot:
    """One of an app's concurrent-request slots, held from admission until its task ends."""

    app_id: str
    handed_to_task: bool = False
    shared_id: str | None = None  # the slot counted across processes (Redis), when there is one


@dataclass
class RunningTask:
    task_id: str
    app_id: str
    end_user_id: str
    handle: TaskHandle
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    shared_id: str | None = None


class TaskSupervisor:
    def __init__(
        self, *, max_active_requests: int = 0, redis_url: str | None = None, hub: WorkerHubLink | None = None
    ) -> None:
        self._limit = max_active_requests
        self._running: dict[str, RunningTask] = {}
        self._slots: Counter[str] = Counter()
        self._background: set[asyncio.Task[None]] = set()
        self._hub = None if redis_url else hub
        self._channel = StopChannel(redis_url, self._stop_here_and_wait, broadcast=self._hub)
        self._redis_slots = SharedActiveRequests(redis_url) if redis_url and max_active_requests else None
        self._shared: SharedSlots | None = None
        if self._redis_slots is not None:
            self._shared = self._redis_slots
        elif self._hub is not None and max_active_requests:
            self._shared = self._hub
        self.conversations = ConversationQueue(redis_url, hub=self._hub)
        """Messages of one conversation take turns through this queue."""

    async def start(self) -> None:
        """Start listening for stop requests of other processes (with Redis or a worker hub)."""
        if self._hub is not None:
            await self._hub.start()
        await self._channel.start()
        await self.conversations.start()
        if self._redis_slots is not None:
            await self._redis_slots.start()

    async def close(self) -> None:
        """Shut down: cancel every task of this process and wait for them to record how they ended."""
        tasks = [r.handle.task for r in self._running.values() if r.handle.task is not None]
        for task in [*tasks, *self._background]:
            task.cancel()
        await asyncio.gather(*tasks, *self._background, return_exceptions=True)
        await self.conversations.close()
        if self._redis_slots is not None:
            await self._redis_slots.close()
        await self._channel.close()  # closes the hub link too

    async def drain(self, deadline_s: float, *, give_up: Callable[[], bool] = lambda: False) -> int:
        """Shutting down: let this process's runs and messages end by themselves for up to `deadline_s` (or until
        `give_up()`), then cancel the rest — each records itself failed and ends its stream with an `error` event —
        and wait for them. Returns how many had to be cancelled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while (tasks := self._tasks()) and loop.time() < deadline and not give_up():
            await asyncio.wait(tasks, timeout=min(0.1, max(deadline - loop.time(), 0)))
        late = self._tasks()
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)

    def _tasks(self) -> list[asyncio.Task[None]]:
        return [r.handle.task for r in self._running.values() if r.handle.task is not None and not r.handle.task.done()]

    @contextmanager
    def admit(self, app_id: str) -> Iterator[AdmissionSlot]:
        """Take one of the app's slots for the block, or raise 429 `too_many_requests` when all are taken.

        A slot passed to `spawn` stays taken until that task ends; otherwise it is given back when the block exits.
        """
        if self._limit and self._slots[app_id] >= self._limit:
            raise self._too_many(app_id)
        self._slots[app_id] += 1
        slot = AdmissionSlot(app_id)
        try:
            yield slot
        finally:
            if not slot.handed_to_task:
                self._release(app_id, slot.shared_id)

    async def admit_globally(self, slot: AdmissionSlot) -> None:
        """With Redis or a worker hub: also take one of the app's slots counted across all processes, or raise 429.

        Call it first thing inside `admit`'s block; the slot then goes back with the local one. If the count cannot
        be asked, the per-process count alone applies (logged).
        """
        if self._shared is None or slot.shared_id is not None:
            return
        try:
            slot.shared_id = await self._shared.take(slot.app_id, self._limit)
        except (RedisError, OSError):
            log.warning("shared count unavailable: app %s is limited per process only", slot.app_id)
            return
        if slot.shared_id is None:
            raise self._too_many(slot.app_id)

    def _too_many(self, app_id: str) -> TooManyRequests:
        return TooManyRequests(
            f"Too many requests. Please try again later. The current maximum concurrent requests allowed "
            f"for {app_id} is {self._limit}."
        )

    def spawn(self, slot: AdmissionSlot, handle: HandleT, *, end_user_id: str, work: TaskWork, name: str) -> HandleT:
        """Run `work` in its own task under `handle`, holding `slot` until it ends."""
        running = RunningTask(
            task_id=handle.task_id,
            app_id=slot.app_id,
            end_user_id=end_user_id,
            handle=handle,
            shared_id=slot.shared_id,
        )
        self._running[handle.task_id] = running
        slot.handed_to_task = True

        async def supervised() -> None:
            TASK_ID.set(handle.task_id)  # log lines of this run or message carry its task id
            try:
                await work(running.stop)
            finally:
                self._forget(running)

        handle.task = asyncio.create_task(supervised(), name=name)
        # A task cancelled before it ever ran skips its `finally`: forget it here too (forgetting is idempotent).
        handle.task.add_done_callback(lambda _: self._forget(running))
        return handle

    def spawn_background(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """A fire-and-forget task (e.g. naming a conversation): no slot, no stop, cancelled at shutdown."""
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _forget(self, running: RunningTask) -> None:
        if self._running.get(running.task_id) is running:
            del self._running[running.task_id]
            self._release(running.app_id, running.shared_id)

    def _release(self, app_id: str, shared_id: str | None) -> None:
        self._slots[app_id] -= 1
        if self._slots[app_id] <= 0:
            del self._slots[app_id]
        if shared_id is not None and self._shared is not None:
            self.spawn_background(self._shared.give_back(shared_id), name="give-back-slot")

    def running_count(self, app_id: str) -> int:
        """The app's taken slots: tasks running or queued, and requests being admitted."""
        return self._slots[app_id]

    def _stop_local(self, request: StopRequest) -> bool:
        running = self._running.get(request.task_id)
        if running is None or running.app_id != request.app_id or running.end_user_id != request.end_user_id:
            return False
        running.stop.set()
        return True

    async def _stop_here_and_wait(self, request: StopRequest) -> bool:
        """A stop request of another process: stop the task if it runs here and wait (bounded) for it to end."""
        running = self._running.get(request.task_id)
        if running is None or not self._stop_local(request):
            return False
        await running.handle.wait_done(STOP_WAIT_S)
        return True

    @property
    def broadcast(self) -> Broadcast | None:
        """Channels every process of the deployment hears (Redis pub/sub across hosts, or the worker hub of one
        `kawa serve --workers N`; None for a lone process): for notifications between processes beyond stop, e.g.
        "run X has new events" to a stream re-attached elsewhere. Subscribe before `start()`."""
        return self._channel.broadcast

    @property
    def redis_link(self) -> LinkState | None:
        """The stop channel's link to Redis (None without Redis): health reports read it."""
        return None if self._hub is not None else self._channel.link

    async def request_stop(self, task_id: str, app_id: str, end_user_id: str) -> None:
        """Stop the task wherever it runs. The caller has checked that this end user owns it.

        A task of another process is stopped through Redis or the worker hub, and this returns once that process
        says it has ended.
        """
        request = StopRequest(task_id=task_id, app_id=app_id, end_user_id=end_user_id)
        if not self._stop_local(request):
            await self._channel.stop_elsewhere(request, timeout=STOP_WAIT_S)

    async def wait_stopped(self, task_id: str, *, timeout: float) -> None:
        """Return once the task has ended, or after `timeout` s (e.g. when it runs in another process)."""
        running = self._running.get(task_id)
        if running is not None:
            await running.handle.wait_done(timeout)

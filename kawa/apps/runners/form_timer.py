"""`FormTimer`: expires Human Input forms when their time is up and resumes their runs along the timeout branch,
without any client polling. It sleeps until the earliest expiration (read from the database, so it survives
restarts and sees the forms of every process; a new form of this process wakes it earlier) and, on each wake-up,
also resumes paused runs whose form was answered but which did not resume (a crash or a busy app in between).
Expiring is a conditional UPDATE and resuming a claim, so any number of processes may run this timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from kawa.store.durable_runs import DurableRunStore

log = logging.getLogger("kawa.runs")
MAX_SLEEP_S: Final = 30.0
"""The longest sleep: forms created by other processes are seen at least this often."""


class FormTimer:
    def __init__(
        self, store: DurableRunStore, resume: Callable[[str], Awaitable[bool]], *, max_sleep_s: float = MAX_SLEEP_S
    ) -> None:
        self.store = store
        self.resume = resume
        self.max_sleep_s = max_sleep_s
        self._wake = asyncio.Event()
        self._next_wake = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="kawa-form-timer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def form_created(self, expiration_time: float) -> None:
        if expiration_time < self._next_wake:
            self._wake.set()

    async def tick(self) -> None:
        for run_id in await self.store.expire_due(time.time()):
            await self._resume(run_id)
        for run_id in await self.store.runs_to_resume():
            await self._resume(run_id)

    async def _resume(self, run_id: str) -> None:
        try:
            await self.resume(run_id)
        except Exception:
            log.exception("could not resume run %s", run_id)

    async def _loop(self) -> None:
        while True:
            delay = self.max_sleep_s
            try:
                await self.tick()
                due = await self.store.next_expiration()
                if due is not None:
                    delay = min(max(due - time.time(), 0.0), self.max_sleep_s)
            except Exception:
                log.exception("the form timer could not read the database; retrying in %g s", delay)
            self._next_wake = time.time() + delay
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

"""`LeaseKeeper`: the periodic task that renews this process's leases on its running runs and messages and marks
lapsed ones (of any process) failed, so no record stays `running` while some kawa process lives (see
`kawa.store.leases`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kawa.store.leases import RecordLeases

log = logging.getLogger("kawa.leases")


class LeaseKeeper:
    def __init__(self, leases: RecordLeases) -> None:
        self.leases = leases
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name="kawa-lease-keeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> None:
        """Renew, then reap. A process that could not renew does not reap: its own leases may have lapsed."""
        await self.leases.renew()
        reaped = await self.leases.reap()
        if reaped:
            log.warning(
                "marked %d run(s) and %d message(s) failed: their owner's lease lapsed (runs %s, messages %s)",
                len(reaped.runs),
                len(reaped.messages),
                ", ".join(reaped.runs[:10]),
                ", ".join(reaped.messages[:10]),
            )

    async def _keep(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # e.g. the database is away: try again next period
                log.warning(
                    "could not renew or reap leases; retrying in %.1fs",
                    self.leases.settings.renew_interval_s,
                    exc_info=True,
                )
            await asyncio.sleep(self.leases.settings.renew_interval_s)

"""Owner leases on running runs and messages: no record stays `running` after the process executing it is gone.

A process writes each run or message row it starts with itself as owner (`owner_pid`) and a lease expiry
(`lease_expires_at`), and renews the leases of the rows it still executes — one UPDATE per table, for all of them —
every `renew_interval_s`. Any live process marks a `running` row whose lease has lapsed `failed` (a message:
`error`) with a reason: its owner died (kill -9, a lost machine) or could not write how the record ended.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kawa.store.clock import now
from kawa.store.database import Database
from kawa.store.settings import LeaseSettings
from kawa.store.tables import Base, Message, NodeExecution, WorkflowRun

RUN_LEASE_LAPSED = (
    "The server running this workflow stopped, or could not record how the run ended, before the run finished."
)
MESSAGE_LEASE_LAPSED = (
    "The server generating this message stopped, or could not record how the message ended, before it finished."
)
_BATCH = 500  # ids per statement: keeps IN lists well under every database's parameter limit


def _table(model: type[Base]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


_RUNS, _NODES, _MESSAGES = _table(WorkflowRun), _table(NodeExecution), _table(Message)


@dataclass(frozen=True, slots=True)
class Reaped:
    """What one reaping marked: run and message ids."""

    runs: list[str]
    messages: list[str]

    def __bool__(self) -> bool:
        return bool(self.runs or self.messages)


def _batches(ids: Iterable[str]) -> Iterable[list[str]]:
    iterator = iter(ids)
    while batch := list(itertools.islice(iterator, _BATCH)):
        yield batch


class RecordLeases:
    """This process's leases (the ids of the rows it executes, held from insert to final write) and the reaper."""

    def __init__(self, db: Database, settings: LeaseSettings, *, owner: str) -> None:
        self.db = db
        self.settings = settings
        self.owner = owner
        self.runs: set[str] = set()
        self.messages: set[str] = set()

    def expiry(self) -> float:
        """The lease expiry of a row written or renewed now."""
        return now() + self.settings.duration_s

    async def renew(self) -> None:
        """Extend the lease of every row this process still executes (one UPDATE per table and batch)."""
        if not (self.runs or self.messages):
            return
        expires = self.expiry()
        async with self.db.write(serialized=True) as conn:  # see Database.write
            for table, ids in ((_RUNS, self.runs), (_MESSAGES, self.messages)):
                for batch in _batches(list(ids)):
                    await conn.execute(
                        sa.update(table)
                        .where(table.c.id.in_(batch), table.c.owner_pid == self.owner, table.c.status == "running")
                        .values(lease_expires_at=expires)
                    )

    async def reap(self) -> Reaped:
        """Mark `running` rows whose lease has lapsed — and rows written before leases existed, once as old as a
        lease — failed (runs, with their running nodes) or `error` (messages), with the reason."""
        ts = now()
        async with self.db.write(serialized=True) as conn:  # see Database.write
            runs = await self._reap_runs(conn, ts)
            messages = await self._lapsed(conn, _MESSAGES, ts)
            for batch in _batches(messages):
                await conn.execute(
                    sa.update(_MESSAGES)
                    .where(_MESSAGES.c.id.in_(batch), self._lapsed_clause(_MESSAGES, ts))
                    .values(status="error", error=MESSAGE_LEASE_LAPSED, updated_at=ts, lease_expires_at=None)
                )
        return Reaped(runs=runs, messages=messages)

    async def _reap_runs(self, conn: AsyncConnection, ts: float) -> list[str]:
        runs = await self._lapsed(conn, _RUNS, ts)
        for batch in _batches(runs):
            await conn.execute(
                sa.update(_RUNS)
                .where(_RUNS.c.id.in_(batch), self._lapsed_clause(_RUNS, ts))
                .values(
                    status="failed",
                    error=RUN_LEASE_LAPSED,
                    finished_at=ts,
                    elapsed_time=sa.literal(ts) - _RUNS.c.created_at,
                    lease_expires_at=None,
                )
            )
            await conn.execute(
                sa.update(_NODES)
                .where(_NODES.c.workflow_run_id.in_(batch), _NODES.c.status == "running")
                .values(status="failed", error=RUN_LEASE_LAPSED, finished_at=ts)
            )
        return runs

    def _lapsed_clause(self, table: sa.Table, ts: float) -> sa.ColumnElement[bool]:
        lease = table.c.lease_expires_at
        return sa.and_(
            table.c.status == "running",
            sa.or_(
                lease < ts,
                sa.and_(lease.is_(None), table.c.created_at < ts - self.settings.duration_s),
            ),
        )

    async def _lapsed(self, conn: AsyncConnection, table: sa.Table, ts: float) -> list[str]:
        rows = await conn.execute(sa.select(table.c.id).where(self._lapsed_clause(table, ts)))
        return [str(row[0]) for row in rows]

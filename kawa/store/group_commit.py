"""`GroupCommitWriter`: one writer per process that commits the hot-path writes of all concurrent runs together.

A caller hands the writer row writes (`RowWrite`: a `BatchedStatement` and its rows) and awaits them; the writer
gathers every write submitted while its previous transaction was committing into the next transaction, runs each
statement once with the rows of all its writes (executemany), and resolves every caller once that transaction
has committed. So an awaited write is durable, exactly as with a transaction of its own, but under concurrency
16 runs cost a few commits instead of 32. Nothing waits on purpose: a lone write is committed at once.

Order inside a batch: counters first (`write_counted`), then statements by `BatchedStatement.order` (a row's
insert before rows that refer to it, before updates of it), rows of one statement in submission order. If a batch
fails, each of its writes is retried in a transaction of its own, so one bad write fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kawa.store.database import Database

log = logging.getLogger("kawa.store")

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True, eq=False)
class BatchedStatement:
    """An INSERT or UPDATE with bind parameters, run once per batch with the rows of every write that uses it.

    `order` places it in a batch (lower first); every row given to one statement has the same keys."""

    name: str
    sql: sa.Insert | sa.Update
    order: int


@dataclass(frozen=True, slots=True)
class RowWrite:
    statement: BatchedStatement
    rows: Sequence[Row]


@dataclass(frozen=True, slots=True, eq=False)
class Counter:
    """A per-key counter column (e.g. an app's run count): `write_counted` adds one and returns the new value."""

    table: sa.Table
    key_column: str
    count_column: str

    def increment(self, key: str, by: int) -> sa.Update:
        column = self.table.c[self.count_column]
        return (
            sa.update(self.table)
            .where(self.table.c[self.key_column] == key)
            .values({self.count_column: column + by})
            .returning(column)
        )


@dataclass(eq=False)
class _Pending:
    writes: tuple[RowWrite, ...]
    done: asyncio.Future[int]
    counter: tuple[Counter, str] | None = None
    into: str | None = None
    counted: int = field(default=0)

    def rows(self, write: RowWrite) -> Sequence[Row]:
        if self.into is None:
            return write.rows
        return [{**row, self.into: self.counted} for row in write.rows]


class GroupCommitWriter:
    """Batches row writes of concurrent callers into few transactions (see the module docstring)."""

    def __init__(self, db: Database, *, max_batch: int = 512) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self.transactions = 0
        """Transactions committed so far (batches and retried single writes)."""

    async def write(self, *writes: RowWrite) -> None:
        """Write the rows; returns once they are committed (raises what the database raised if they were not)."""
        await self._submit(_Pending(writes, asyncio.get_running_loop().create_future()))

    async def write_counted(self, counter: Counter, key: str, *writes: RowWrite, into: str) -> int:
        """Add one to `counter` at `key` and write the rows with the counter's new value in their column `into`,
        in one transaction; returns that value (0 when no row has that key)."""
        future = asyncio.get_running_loop().create_future()
        return await self._submit(_Pending(writes, future, (counter, key), into))

    async def aclose(self) -> None:
        """Wait until every write submitted so far is committed (or failed)."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _submit(self, pending: _Pending) -> int:
        self._queue.append(pending)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name="kawa-group-commit")
        # Shielded: a cancelled caller does not cancel the batch other callers' writes are in.
        return await asyncio.shield(pending.done)

    async def _flush(self) -> None:
        try:
            # One turn of the event loop first: the runs whose callbacks are ready now add their writes to this
            # batch (on a busy loop, a commit alone is over before the next write arrives). Idle, it costs nothing.
            await asyncio.sleep(0)
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            await self._transaction(batch)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            log.debug("a batch of %d writes failed (%s); retrying them one by one", len(batch), exc)
            for pending in batch:
                try:
                    await self._transaction([pending])
                except Exception as single:
                    _settle(pending, single)
                else:
                    _settle(pending, None)
            return
        except BaseException as exc:  # cancelled at shutdown: the callers learn their writes did not happen
            for pending in batch:
                _settle(pending, asyncio.CancelledError() if isinstance(exc, asyncio.CancelledError) else exc)
            raise
        for pending in batch:
            _settle(pending, None)

    async def _transaction(self, batch: list[_Pending]) -> None:
        async with self.db.write(serialized=True) as conn:
            await _count(conn, batch)
            rows: dict[BatchedStatement, list[Row]] = {}
            for pending in batch:
                for write in pending.writes:
                    rows.setdefault(write.statement, []).extend(pending.rows(write))
            for statement in sorted(rows, key=lambda s: s.order):
                if rows[statement]:
                    await conn.execute(statement.sql, rows[statement])
        self.transactions += 1


async def _count(conn: AsyncConnection, batch: list[_Pending]) -> None:
    """Increment each counter key once by the number of writes counting it; hand out the values in order."""
    groups: dict[tuple[Counter, str], list[_Pending]] = {}
    for pending in batch:
        if pending.counter is not None:
            groups.setdefault(pending.counter, []).append(pending)
    for (counter, key), members in groups.items():
        last = await conn.scalar(counter.increment(key, len(members)))
        if last is None:  # no such row
            for pending in members:
                pending.counted = 0
            continue
        first = int(last) - len(members) + 1
        for offset, pending in enumerate(members):
            pending.counted = first + offset


def _settle(pending: _Pending, error: BaseException | None) -> None:
    if pending.done.done():
        return
    if error is None:
        pending.done.set_result(pending.counted)
    else:
        pending.done.set_exception(error)
        pending.done.exception()  # the caller may have been cancelled: then nobody else looks at it

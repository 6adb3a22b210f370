"""Workflow runs and node executions: written as a run progresses, queried for run detail and logs.

A run row is written when it starts (status `running`, with the owning process); node executions are written in
batches as nodes finish; the final state is written when the run ends. On start, runs whose owning process is gone
are marked `failed`, so no run stays `running` forever after a crash.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kawa.store.clock import now
from kawa.store.database import Database
from kawa.store.group_commit import BatchedStatement, Counter, GroupCommitWriter, RowWrite
from kawa.store.leases import RecordLeases
from kawa.store.tables import App, Base, EndUser, Message, NodeExecution, WorkflowRun

CRASH_ERROR = "The server stopped while this run was in progress."
MESSAGE_CRASH_ERROR = "The server stopped while this message was in progress."
_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


def process_identity() -> str:
    """host:pid:boot — tells whether the process that owns a run is still the one alive with that pid."""
    try:
        with open(_BOOT_ID_PATH) as fh:
            boot = fh.read().strip()[:8]
    except OSError:
        boot = "-"
    return f"{socket.gethostname()}:{os.getpid()}:{boot}"


def _owner_alive(identity: str | None) -> bool:
    if not identity:
        return False
    host, _, rest = identity.partition(":")
    pid_text, _, boot = rest.partition(":")
    if host != socket.gethostname():
        return True  # another machine's run: its own server recovers it
    if process_identity().rsplit(":", 1)[1] != boot:
        return False
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    # Recovery runs at start-up, before this process owns any run: our own pid means a reused pid.
    return pid != os.getpid()


def table_of(model: type[Base]) -> sa.Table:
    """The Core table of an ORM class (declarative types it as a FromClause; it is always a Table here)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


_RUNS = table_of(WorkflowRun)
_NODES = table_of(NodeExecution)
RUN_FINISH_FIELDS = (
    "status",
    "outputs",
    "error",
    "elapsed_time",
    "total_tokens",
    "total_steps",
    "exceptions_count",
    "finished_at",
)
"""The run columns written when a run ends (`RunStore.finish`'s `values`)."""


def _update_by_id(table: sa.Table, columns: Iterable[str]) -> sa.Update:
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("key"))
        .values({c: sa.bindparam(c, type_=table.c[c].type) for c in columns})
    )


# Batched by the group-commit writer in this order: a run's row before its nodes', inserts before updates.
INSERT_RUN = BatchedStatement("insert run", sa.insert(_RUNS), order=10)
INSERT_NODES = BatchedStatement("insert node executions", sa.insert(_NODES), order=20)
UPDATE_NODES = BatchedStatement(
    "update node executions", _update_by_id(_NODES, [c.key for c in _NODES.columns if c.key != "id"]), order=30
)
FINISH_RUN = BatchedStatement("finish run", _update_by_id(_RUNS, (*RUN_FINISH_FIELDS, "lease_expires_at")), order=40)
RUN_SEQUENCE = Counter(table_of(App), key_column="id", count_column="run_count")
"""Per-app run count: a run's `sequence_number`."""


def table_row(record: Any, table: sa.Table) -> dict[str, Any]:
    """A record's column values for a Core statement, with the column defaults the ORM would have applied."""
    row = {}
    for column in table.columns:
        value = getattr(record, column.key)
        default = column.default
        if value is None and default is not None:
            # `arg` exists on every concrete ColumnDefault (scalar or callable), not on the base class mypy sees.
            value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]  # see above
        row[column.key] = value
    return row


def _node_writes(new: list[NodeExecution], changed: list[NodeExecution]) -> list[RowWrite]:
    writes = []
    if new:
        writes.append(RowWrite(INSERT_NODES, [table_row(e, _NODES) for e in new]))
    if changed:
        rows = []
        for execution in changed:
            row = table_row(execution, _NODES)
            row["key"] = row.pop("id")
            rows.append(row)
        writes.append(RowWrite(UPDATE_NODES, rows))
    return writes


@dataclass(frozen=True, slots=True)
class RunLogUser:
    """The end user who started a logged run."""

    id: str
    type: str
    is_anonymous: bool
    session_id: str


@dataclass(frozen=True, slots=True)
class RunLogEntry:
    """One line of a workflow app's run log."""

    id: str
    version: str
    status: str
    triggered_from: str
    error: str | None
    elapsed_time: float
    total_tokens: int
    total_steps: int
    exceptions_count: int
    created_at: float
    finished_at: float | None
    end_user: RunLogUser | None

    @classmethod
    def of(cls, run: WorkflowRun, user: EndUser | None) -> RunLogEntry:
        return cls(
            id=run.id,
            version=run.version,
            status=run.status,
            triggered_from=run.triggered_from,
            error=run.error,
            elapsed_time=run.elapsed_time,
            total_tokens=run.total_tokens,
            total_steps=run.total_steps,
            exceptions_count=run.exceptions_count,
            created_at=run.created_at,
            finished_at=run.finished_at,
            end_user=None if user is None else RunLogUser(user.id, user.type, user.is_anonymous, user.session_id),
        )


@dataclass
class LogPage:
    total: int
    rows: list[RunLogEntry]


class RunStore:
    """Runs and node executions. Writes go through the process's `GroupCommitWriter`: each returns once committed,
    in a transaction shared with the writes of other runs made at the same time."""

    def __init__(self, db: Database, *, leases: RecordLeases, writer: GroupCommitWriter | None = None) -> None:
        self.db = db
        self.leases = leases
        self.writer = writer or GroupCommitWriter(db)

    async def start(self, run: WorkflowRun) -> int:
        """Insert a new run, owned (leased) by this process until `finish`; returns its per-app `sequence_number`
        (1, 2, …), counted atomically."""
        run.owner_pid, run.lease_expires_at = self.leases.owner, self.leases.expiry()
        run.sequence_number = 0  # the writer puts the counted value into the row
        row = table_row(run, _RUNS)
        sequence = await self.writer.write_counted(
            RUN_SEQUENCE, run.app_id, RowWrite(INSERT_RUN, [row]), into="sequence_number"
        )
        self.leases.runs.add(run.id)
        # The record now holds what the row holds (column defaults included): a later write of the whole record,
        # e.g. a run failing before any node ran, must not write NULL into `total_tokens` and the like.
        for key, value in row.items():
            if getattr(run, key) is None:
                setattr(run, key, value)
        run.sequence_number = sequence
        return sequence

    async def save_nodes(self, new: list[NodeExecution], changed: list[NodeExecution]) -> None:
        """Insert `new` node executions and update `changed` ones (rows written before), in one transaction."""
        if new or changed:
            await self.writer.write(*_node_writes(new, changed))

    async def finish(
        self, run_id: str, values: dict[str, Any], new: list[NodeExecution], changed: list[NodeExecution]
    ) -> None:
        """Write how the run ended (`values`: the `RUN_FINISH_FIELDS`). Its lease ends here even if the write
        fails: the reaper then marks the run."""
        try:
            finish = {"key": run_id, "lease_expires_at": None, **{k: values[k] for k in RUN_FINISH_FIELDS}}
            await self.writer.write(*_node_writes(new, changed), RowWrite(FINISH_RUN, [finish]))
        finally:
            self.leases.runs.discard(run_id)

    async def get(self, run_id: str, *, app_id: str) -> WorkflowRun | None:
        async with self.db.session() as session:
            run = await session.get(WorkflowRun, run_id)
            return run if run is not None and run.app_id == app_id else None

    async def by_task(self, task_id: str, *, app_id: str) -> WorkflowRun | None:
        async with self.db.session() as session:
            return await session.scalar(
                sa.select(WorkflowRun).where(WorkflowRun.task_id == task_id, WorkflowRun.app_id == app_id)
            )

    async def node_executions(self, run_id: str) -> list[NodeExecution]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(NodeExecution)
                .where(NodeExecution.workflow_run_id == run_id)
                .order_by(NodeExecution.created_at)
            )
            return list(rows)

    async def logs(
        self,
        app_id: str,
        *,
        keyword: str | None,
        status: str | None,
        after: float | None,
        before: float | None,
        session_id: str | None,
        page: int,
        limit: int,
    ) -> LogPage:
        query = (
            sa.select(WorkflowRun, EndUser)
            .outerjoin(EndUser, EndUser.id == WorkflowRun.end_user_id)
            .where(WorkflowRun.app_id == app_id)
        )
        if status:
            query = query.where(WorkflowRun.status == status)
        if after is not None:
            query = query.where(WorkflowRun.created_at >= after)
        if before is not None:
            query = query.where(WorkflowRun.created_at <= before)
        if session_id:
            query = query.where(EndUser.session_id == session_id)
        if keyword:
            pattern = f"%{keyword}%"
            query = query.where(
                sa.or_(
                    sa.cast(WorkflowRun.inputs, sa.Text).ilike(pattern),
                    sa.cast(WorkflowRun.outputs, sa.Text).ilike(pattern),
                    WorkflowRun.id.ilike(pattern),
                    EndUser.session_id.ilike(pattern),
                )
            )
        async with self.db.session() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
            result = await session.execute(
                query.order_by(WorkflowRun.created_at.desc()).offset((page - 1) * limit).limit(limit)
            )
            return LogPage(total=total, rows=[RunLogEntry.of(run, user) for run, user in result.all()])

    async def fail_orphans(self) -> int:
        """Mark `running` runs (and their running nodes) `failed`, and `running` messages `error`, when their
        process is gone; returns how many runs and messages were settled."""
        async with self.db.session() as session, session.begin():
            messages = list(
                await session.execute(sa.select(Message.id, Message.owner_pid).where(Message.status == "running"))
            )
            orphan_messages = [message_id for message_id, owner in messages if not _owner_alive(owner)]
            if orphan_messages:
                await session.execute(
                    sa.update(Message)
                    .where(Message.id.in_(orphan_messages))
                    .values(status="error", error=MESSAGE_CRASH_ERROR, updated_at=now())
                )
            running = list(
                await session.execute(
                    sa.select(WorkflowRun.id, WorkflowRun.owner_pid, WorkflowRun.created_at).where(
                        WorkflowRun.status == "running"
                    )
                )
            )
            orphans = [(run_id, created) for run_id, owner, created in running if not _owner_alive(owner)]
            ts = now()
            for run_id, created in orphans:
                await session.execute(
                    sa.update(WorkflowRun)
                    .where(WorkflowRun.id == run_id)
                    .values(status="failed", error=CRASH_ERROR, finished_at=ts, elapsed_time=ts - created)
                )
                await session.execute(
                    sa.update(NodeExecution)
                    .where(NodeExecution.workflow_run_id == run_id, NodeExecution.status == "running")
                    .values(status="failed", error=CRASH_ERROR, finished_at=ts)
                )
            return len(orphans) + len(orphan_messages)

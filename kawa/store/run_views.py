"""Read-only views of runs for operators (`kawa runs`, `kawa logs`): recent runs of every app with their node
progress, and one run's node timeline. Typed records, never ORM rows; readable while a server writes the database."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from kawa.store.database import Database
from kawa.store.tables import App, NodeExecution, WorkflowRun


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: str
    app_id: str
    app_name: str
    task_id: str
    conversation_id: str | None
    status: str
    error: str | None
    elapsed_time: float
    total_tokens: int
    total_steps: int
    created_at: float
    finished_at: float | None
    nodes_done: int  # node executions recorded as ended (written in batches while the run goes on)
    nodes_running: int


@dataclass(frozen=True, slots=True)
class NodeStep:
    id: str
    node_id: str
    node_type: str
    title: str
    index: int
    status: str
    error: str | None
    elapsed_time: float
    created_at: float
    finished_at: float | None
    iteration_id: str | None
    loop_id: str | None


_DONE = sa.func.sum(sa.case((NodeExecution.status != "running", 1), else_=0))
_RUNNING = sa.func.sum(sa.case((NodeExecution.status == "running", 1), else_=0))


class RunViews:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def recent(
        self, *, app_id: str | None = None, limit: int = 20, changed_since: float | None = None
    ) -> list[RunSummary]:
        """Newest first: the last `limit` runs, or (`changed_since`) those created or finished since then, or
        still running."""
        where: list[sa.ColumnElement[bool]] = []
        if app_id is not None:
            where.append(WorkflowRun.app_id == app_id)
        if changed_since is not None:
            where.append(
                sa.or_(
                    WorkflowRun.created_at >= changed_since,
                    WorkflowRun.finished_at >= changed_since,
                    WorkflowRun.status == "running",
                )
            )
        return await self._summaries(where, limit)

    async def run(self, run_id: str) -> RunSummary | None:
        """One run, by id or by the start of its id (as `kawa runs` shows them), when that names one run."""
        condition = WorkflowRun.id == run_id if len(run_id) >= 36 else WorkflowRun.id.startswith(run_id)
        found = await self._summaries([condition], 2)
        return found[0] if len(found) == 1 else None

    async def _summaries(self, where: list[sa.ColumnElement[bool]], limit: int) -> list[RunSummary]:
        progress = (
            sa.select(
                NodeExecution.workflow_run_id.label("run_id"),
                sa.func.coalesce(_DONE, 0).label("done"),
                sa.func.coalesce(_RUNNING, 0).label("running"),
            )
            .group_by(NodeExecution.workflow_run_id)
            .subquery()
        )
        query = (
            sa.select(WorkflowRun, App.name, progress.c.done, progress.c.running)
            .join(App, App.id == WorkflowRun.app_id)
            .outerjoin(progress, progress.c.run_id == WorkflowRun.id)
            .where(*where)
            .order_by(WorkflowRun.created_at.desc())
            .limit(limit)
        )
        async with self.db.session() as session:
            rows = (await session.execute(query)).all()
        return [
            RunSummary(
                id=run.id,
                app_id=run.app_id,
                app_name=name,
                task_id=run.task_id,
                conversation_id=run.conversation_id,
                status=run.status,
                error=run.error,
                elapsed_time=run.elapsed_time,
                total_tokens=run.total_tokens,
                total_steps=run.total_steps,
                created_at=run.created_at,
                finished_at=run.finished_at,
                nodes_done=int(done or 0),
                nodes_running=int(running or 0),
            )
            for run, name, done, running in rows
        ]

    async def timeline(self, run_id: str) -> list[NodeStep]:
        """The run's node executions in the order they started."""
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(NodeExecution)
                .where(NodeExecution.workflow_run_id == run_id)
                .order_by(NodeExecution.created_at, NodeExecution.index)
            )
            return [
                NodeStep(
                    id=n.id,
                    node_id=n.node_id,
                    node_type=n.node_type,
                    title=n.title,
                    index=n.index,
                    status=n.status,
                    error=n.error,
                    elapsed_time=n.elapsed_time,
                    created_at=n.created_at,
                    finished_at=n.finished_at,
                    iteration_id=n.iteration_id,
                    loop_id=n.loop_id,
                )
                for n in rows
            ]

"""The group-commit writer: concurrent runs share transactions, every awaited write is committed, order inside a
batch keeps rows valid, and a bad write fails alone. Real databases (a SQLite file and a fresh PostgreSQL one)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.apps import FIXTURES

from kawa.apps.runners.run_recorder import RunRecorder
from kawa.dsl import load_dsl
from kawa.services import open_services
from kawa.settings import Settings
from kawa.store.clock import new_id
from kawa.store.database import Database
from kawa.store.runs import INSERT_NODES
from kawa.store.tables import NodeExecution, WorkflowRun
from kawa.workflow import events as ev
from kawa.workflow.graph import compile_graph


def _run(app_id: str, workflow_id: str) -> WorkflowRun:
    return WorkflowRun(
        id=new_id(),
        app_id=app_id,
        workflow_id=workflow_id,
        task_id=new_id(),
        version="1",
        status="running",
        inputs={"name": "x"},
        outputs=None,
        created_at=time.time(),
    )


def _node_started(run_id: str) -> ev.NodeStarted:
    return ev.NodeStarted(
        id=new_id(),
        node_id="greet",
        node_type="template-transform",
        title="Greeting",
        index=1,
        predecessor_node_id="start",
        created_at=time.time(),
    )


def _finished(status: str = "succeeded") -> ev.WorkflowFinished:
    ts = time.time()
    return ev.WorkflowFinished(
        status=status,  # type: ignore[arg-type]  # a RunStatus literal, chosen by the test
        outputs={"greeting": "hi"},
        error=None,
        elapsed_time=0.01,
        total_tokens=0,
        total_steps=2,
        total_price=Decimal(0),
        currency=None,
        exceptions_count=0,
        created_at=ts,
        finished_at=ts,
        conversation_variables={},
    )


async def _one_run(recorder: RunRecorder, run: WorkflowRun) -> int:
    await recorder.start(run)
    await recorder.on_event(_node_started(run.id))
    await recorder.finish(_finished())
    return recorder.sequence_number


async def _concurrent_runs(settings: Settings, count: int) -> tuple[list[int], int, list[tuple[str, int, int]]]:
    async with open_services(settings) as services:
        app, version = await services.apps.create(
            load_dsl((FIXTURES / "dsl" / "workflow-hello.yml").read_text(), check_graph=compile_graph)
        )
        before = services.runs.writer.transactions
        runs = [_run(app.id, version.id) for _ in range(count)]
        recorders = [RunRecorder(services.runs, run_id=r.id, app_id=app.id) for r in runs]
        sequences = await asyncio.gather(*(_one_run(rec, run) for rec, run in zip(recorders, runs, strict=True)))
        transactions = services.runs.writer.transactions - before
    # Read back through a database handle of its own: what the writer acknowledged is committed.
    db = Database(settings.resolved_database_url, settings.database)
    try:
        async with db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(WorkflowRun.status, WorkflowRun.sequence_number, sa.func.count(NodeExecution.id))
                    .outerjoin(NodeExecution, NodeExecution.workflow_run_id == WorkflowRun.id)
                    .where(WorkflowRun.app_id == app.id)
                    .group_by(WorkflowRun.id)
                )
            ).all()
    finally:
        await db.dispose()
    return list(sequences), transactions, [(r[0], r[1], r[2]) for r in rows]


def test_concurrent_runs_share_transactions_and_are_all_recorded(settings: Settings) -> None:
    sequences, transactions, rows = asyncio.run(_concurrent_runs(settings, 16))
    assert sorted(sequences) == list(range(1, 17))
    assert sorted(r[1] for r in rows) == list(range(1, 17))  # the row holds the number the run was given
    assert all(status == "succeeded" and nodes == 1 for status, _, nodes in rows)
    # 32 writes (16 starts, 16 finishes); alone, each would be a transaction of its own.
    assert transactions <= 8


async def _bad_write_fails_alone(settings: Settings) -> tuple[BaseException | None, list[str]]:
    async with open_services(settings) as services:
        app, version = await services.apps.create(
            load_dsl((FIXTURES / "dsl" / "workflow-hello.yml").read_text(), check_graph=compile_graph)
        )
        good = [_run(app.id, version.id) for _ in range(3)]
        orphan = NodeExecution(
            id=new_id(),
            workflow_run_id="no-such-run",  # the foreign key refuses it
            app_id=app.id,
            node_id="n",
            node_type="start",
            title="n",
            index=1,
            status="running",
            created_at=time.time(),
            elapsed_time=0.0,
        )
        results = await asyncio.gather(
            services.runs.start(good[0]),
            services.runs.save_nodes([orphan], []),
            services.runs.start(good[1]),
            services.runs.start(good[2]),
            return_exceptions=True,
        )
        stored = [r.id for r in good if await services.runs.get(r.id, app_id=app.id) is not None]
    error = results[1] if isinstance(results[1], BaseException) else None
    return error, stored


def test_a_failing_write_fails_alone(settings: Settings) -> None:
    error, stored = asyncio.run(_bad_write_fails_alone(settings))
    assert isinstance(error, sa.exc.IntegrityError)
    assert len(stored) == 3


def test_statements_of_a_batch_run_in_their_declared_order() -> None:
    from kawa.store.runs import FINISH_RUN, INSERT_RUN, UPDATE_NODES

    assert INSERT_RUN.order < INSERT_NODES.order < UPDATE_NODES.order < FINISH_RUN.order


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_a_run_started_and_finished_in_one_batch_ends_finished(settings: Settings, status: str) -> None:
    async def work() -> WorkflowRun | None:
        async with open_services(settings) as services:
            app, version = await services.apps.create(
                load_dsl((FIXTURES / "dsl" / "workflow-hello.yml").read_text(), check_graph=compile_graph)
            )
            run = _run(app.id, version.id)
            recorder = RunRecorder(services.runs, run_id=run.id, app_id=app.id)
            # Submitted back to back, so the writer takes the insert and the final update in one transaction.
            recorder.run = run
            before = services.runs.writer.transactions
            await asyncio.gather(recorder.start(run), recorder.finish(_finished(status)))
            assert services.runs.writer.transactions == before + 1
            return await services.runs.get(run.id, app_id=app.id)

    run = asyncio.run(work())
    assert run is not None and run.status == status and run.lease_expires_at is None

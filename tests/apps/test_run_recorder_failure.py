"""A run that fails before any node finished is still recorded `failed` (defect 3: NULL in NOT NULL columns).

Real databases (a SQLite file and a fresh PostgreSQL database): the recorder writes through the real `RunStore`.
"""

from __future__ import annotations

import asyncio
import time

from support.apps import FIXTURES

from kawa.apps.runners.run_recorder import RunRecorder
from kawa.dsl import load_dsl
from kawa.services import open_services
from kawa.settings import Settings
from kawa.store.clock import new_id
from kawa.store.tables import WorkflowRun
from kawa.workflow.graph import compile_graph


async def _fail_a_fresh_run(settings: Settings) -> WorkflowRun | None:
    async with open_services(settings) as services:
        app, version = await services.apps.create(
            load_dsl((FIXTURES / "dsl" / "workflow-hello.yml").read_text(), check_graph=compile_graph)
        )
        run_id = new_id()
        recorder = RunRecorder(services.runs, run_id=run_id, app_id=app.id)
        await recorder.start(
            WorkflowRun(
                id=run_id,
                app_id=app.id,
                workflow_id=version.id,
                task_id=new_id(),
                version=str(version.number),
                status="running",
                inputs={},
                outputs=None,
                created_at=time.time(),
            )
        )
        await recorder.fail("The input could not be read.")
        return await services.runs.get(run_id, app_id=app.id)


def test_a_run_failed_before_any_node_is_recorded_failed_with_its_reason(settings: Settings) -> None:
    run = asyncio.run(_fail_a_fresh_run(settings))
    assert run is not None
    assert (run.status, run.error) == ("failed", "The input could not be read.")
    assert (run.total_tokens, run.total_steps, run.exceptions_count) == (0, 0, 0)
    assert run.finished_at is not None and run.elapsed_time >= 0

"""`WorkflowEngine`: runs a compiled `Graph` and yields typed events, from `WorkflowStarted` to `WorkflowFinished`.

One engine per run. Stopping (the `stop` event) or closing the generator cancels every running node at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from kawa.errors import client_message
from kawa.workflow.events import STOPPED_BY_USER, EngineEvent, RunStatus, WorkflowFinished, WorkflowStarted
from kawa.workflow.graph import Graph
from kawa.workflow.mailbox import Mailbox
from kawa.workflow.masking import SecretMasker
from kawa.workflow.outcome import LevelOutcome
from kawa.workflow.runtime import EngineLimits, NodeServices, Scope
from kawa.workflow.scheduler import RunState, Scheduler
from kawa.workflow.variable_pool import VariablePool

logger = logging.getLogger(__name__)


class WorkflowEngine:
    def __init__(
        self, graph: Graph, *, services: NodeServices | None = None, limits: EngineLimits | None = None
    ) -> None:
        self.graph = graph
        self.services = services or NodeServices()
        self.limits = limits or EngineLimits()

    async def run(
        self,
        inputs: Mapping[str, Any],
        system: Mapping[str, Any],
        environment: Mapping[str, Any],
        secret_env_names: set[str] | frozenset[str],
        conversation: Mapping[str, Any],
        stop: asyncio.Event,
    ) -> AsyncIterator[EngineEvent]:
        """Run once. `system` holds the `sys.*` values without the prefix; `conversation` the conversation
        variables' current values. The last event is always `WorkflowFinished`."""
        masker = SecretMasker(str(environment[name]) for name in secret_env_names if name in environment)
        pool = VariablePool(system=system, environment=environment, conversation=conversation, user_inputs=inputs)
        queue: Mailbox[EngineEvent | None] = Mailbox()  # None: the run's task ended
        state = RunState(services=self.services, limits=self.limits, emit=queue.put)
        scheduler = Scheduler(self.graph, pool, state, Scope(), stream_responses=True)

        created_at = time.time()
        started = time.perf_counter()
        started_event = WorkflowStarted(
            inputs={**inputs, **{f"sys.{key}": value for key, value in system.items()}}, created_at=created_at
        )
        # Before the scheduler's task exists: what the observer puts in this task's context, node tasks inherit.
        observer = self.services.observer
        mask = masker.mask if masker else None
        trace = observer.run_started(pool.system, mask) if observer is not None else None
        shown_started = masker.mask_event(started_event) if masker else started_event
        if trace is not None:
            trace.on_event(shown_started)
        yield shown_started

        task = asyncio.create_task(scheduler.run(), name="workflow-run")
        task.add_done_callback(lambda _: queue.put(None))
        stop_waiter = asyncio.create_task(stop.wait(), name="workflow-stop-watch")
        stop_waiter.add_done_callback(lambda t: None if t.cancelled() else scheduler.abort("stopped", STOPPED_BY_USER))
        timer = asyncio.get_running_loop().call_later(
            self.limits.max_wall_time_s,
            scheduler.abort,
            "failed",
            f"Maximum execution time exceeded: the limit is {self.limits.max_wall_time_s:g} s.",
        )
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                shown = masker.mask_event(event) if masker else event
                if trace is not None:
                    trace.on_event(shown)
                yield shown
            outcome = _outcome_of(task)
        finally:
            timer.cancel()
            stop_waiter.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        outputs: Mapping[str, Any] = outcome.end_outputs
        if not outputs and outcome.answers:
            outputs = {"answer": "".join(outcome.answers)}
        status: RunStatus = outcome.status
        if status == "succeeded" and state.exceptions_count:
            status = "partial-succeeded"
        finished = WorkflowFinished(
            status=status,
            outputs=outputs,
            error=outcome.error,
            elapsed_time=time.perf_counter() - started,
            total_tokens=state.total_tokens,
            total_price=state.total_price,
            currency=state.currency,
            total_steps=state.steps,
            exceptions_count=state.exceptions_count,
            created_at=created_at,
            finished_at=time.time(),
            conversation_variables=dict(pool.conversation),
            llm_usage=state.llm_usage,
            error_code=outcome.error_code,
            error_status=outcome.error_status,
        )
        shown_finished = masker.mask_event(finished) if masker else finished
        if trace is not None:
            trace.on_event(shown_finished)
        yield shown_finished


def _outcome_of(task: asyncio.Task[LevelOutcome]) -> LevelOutcome:
    error = task.exception()
    if error is None:
        return task.result()
    message = client_message(error, log=logger, context="workflow run (engine)")
    return LevelOutcome(status="failed", error=message, error_type=type(error).__name__)

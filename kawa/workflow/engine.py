"""`WorkflowEngine`: runs a compiled `Graph` and yields typed events, from `WorkflowStarted` to `WorkflowFinished`.

One engine per run. Stopping (the `stop` event) or closing the generator cancels every running node at once. A run
that reaches Human Input nodes ends with `WorkflowPaused` and its snapshot; `resume` continues it from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

from kawa.errors import client_message
from kawa.workflow.events import (
    STOPPED_BY_USER,
    EngineEvent,
    RunStatus,
    WorkflowFinished,
    WorkflowPaused,
    WorkflowStarted,
)
from kawa.workflow.graph import Graph
from kawa.workflow.mailbox import Mailbox
from kawa.workflow.masking import SecretMasker
from kawa.workflow.outcome import LevelOutcome
from kawa.workflow.pause import RunSnapshot
from kawa.workflow.runtime import EngineLimits, NodeServices, Scope
from kawa.workflow.scheduler import RunState, Scheduler
from kawa.workflow.variable_pool import ENVIRONMENT, VariablePool

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
        variables' current values. The last event is `WorkflowFinished`, or `WorkflowPaused` when Human Input
        nodes wait for a person."""
        pool = VariablePool(system=system, environment=environment, conversation=conversation, user_inputs=inputs)
        state = RunState(services=self.services, limits=self.limits, emit=lambda _: None)
        started = WorkflowStarted(
            inputs={**inputs, **{f"sys.{key}": value for key, value in system.items()}}, created_at=time.time()
        )
        async for event in self._drive(pool, state, environment, secret_env_names, started, stop, None, 0.0):
            yield event

    async def resume(
        self,
        snapshot: RunSnapshot,
        environment: Mapping[str, Any],
        secret_env_names: set[str] | frozenset[str],
        stop: asyncio.Event,
    ) -> AsyncIterator[EngineEvent]:
        """Continue a paused run from its snapshot: its paused nodes run again (they find their forms' decisions
        in `services.human_input`). Events as for `run`, starting with a `WorkflowStarted` of reason
        `resumption`."""
        values = {k: v for k, v in snapshot.pool.items() if k != ENVIRONMENT}
        pool = VariablePool.restored(values, environment=environment, user_inputs=snapshot.user_inputs)
        state = RunState(
            services=self.services,
            limits=self.limits,
            emit=lambda _: None,
            steps=snapshot.steps,
            node_index=snapshot.node_index,
            total_tokens=snapshot.total_tokens,
            total_price=Decimal(snapshot.total_price),
            currency=snapshot.currency,
            exceptions_count=snapshot.exceptions_count,
        )
        inputs = {**snapshot.user_inputs, **{f"sys.{key}": value for key, value in pool.system.items()}}
        started = WorkflowStarted(inputs=inputs, created_at=snapshot.created_at, reason="resumption")
        async for event in self._drive(
            pool, state, environment, secret_env_names, started, stop, snapshot, snapshot.elapsed_s
        ):
            yield event

    async def _drive(
        self,
        pool: VariablePool,
        state: RunState,
        environment: Mapping[str, Any],
        secret_env_names: set[str] | frozenset[str],
        started_event: WorkflowStarted,
        stop: asyncio.Event,
        snapshot: RunSnapshot | None,
        elapsed_before: float,
    ) -> AsyncIterator[EngineEvent]:
        masker = SecretMasker(str(environment[name]) for name in secret_env_names if name in environment)
        queue: Mailbox[EngineEvent | None] = Mailbox()  # None: the run's task ended
        state.emit = queue.put
        scheduler = Scheduler(self.graph, pool, state, Scope(), stream_responses=True)
        if snapshot is not None:
            scheduler.restore(snapshot, emit=queue.put)
        created_at = started_event.created_at
        started = time.perf_counter() - elapsed_before
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
        if outcome.status == "paused":
            edges, resolved, paused, forms = scheduler.pause_state()
            elapsed = time.perf_counter() - started
            yield WorkflowPaused(
                forms=forms,
                snapshot=RunSnapshot(
                    pool={k: v for k, v in pool.values().items() if k != ENVIRONMENT},
                    user_inputs=pool.user_inputs,
                    remaining=edges.remaining,
                    predecessor=edges.predecessor,
                    taken=sorted(edges.taken),
                    resolved=resolved,
                    paused=paused,
                    steps=state.steps,
                    node_index=state.node_index,
                    total_tokens=state.total_tokens,
                    total_price=str(state.total_price),
                    currency=state.currency,
                    exceptions_count=state.exceptions_count,
                    end_outputs=outcome.end_outputs,
                    answers=outcome.answers,
                    created_at=created_at,
                    elapsed_s=elapsed,
                ),
                outputs=outputs,
                elapsed_time=elapsed,
                total_tokens=state.total_tokens,
                total_steps=state.steps,
                created_at=created_at,
            )
            return
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

"""`Scheduler`: runs one level of a graph (the workflow, or one iteration item / loop round) to completion.

Every node runs as an asyncio task; tasks report back through the scheduler's inbox (typed messages) and all run
state (pool writes, edge resolution, events) changes in the scheduler's own loop, so nothing needs a lock. Which
nodes run next is decided by `readiness.follow_edges`; what a finished node adds to the level's outcome, by the
node class (`Node.record_outcome`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from kawa.errors import KawaError
from kawa.models.types import Usage
from kawa.workflow.errors import RunLimitExceeded
from kawa.workflow.events import STOPPED_BY_USER, EngineEvent, NodeStatus, RunStatus, TextChunk
from kawa.workflow.graph import Graph, NodeSpec
from kawa.workflow.mailbox import Mailbox
from kawa.workflow.node_execution import NodeExecution
from kawa.workflow.node_failure import error_outputs, error_text
from kawa.workflow.nodes.base import NodeResult
from kawa.workflow.observer import CURRENT_EXECUTION
from kawa.workflow.outcome import LevelOutcome
from kawa.workflow.pause import FormRequest, PausedNode, RunSnapshot
from kawa.workflow.readiness import EdgeState, follow_edges
from kawa.workflow.response_stream import ResponseStreamCoordinator
from kawa.workflow.runtime import EngineLimits, NodeContext, NodeServices, Scope, SubgraphOutcome
from kawa.workflow.variable_pool import VariablePool

_INLINE_BURST: Final = 32


@dataclass(slots=True)
class RunState:
    """Shared by every scheduler of one run (nested containers included)."""

    services: NodeServices
    limits: EngineLimits
    emit: Callable[[EngineEvent], None]
    steps: int = 0
    node_index: int = 0
    total_tokens: int = 0
    total_price: Decimal = field(default_factory=Decimal)
    currency: str | None = None
    llm_usage: Usage = field(default_factory=Usage)  # the sum of every model call's usage, in Dify's shape
    exceptions_count: int = 0
    # Why running nodes are being cancelled, shown as their error (set by the top level when it ends early).
    cancel_reason: str | None = None


# -- the scheduler's inbox


@dataclass(frozen=True, slots=True)
class _NodeDone:
    """A node task ended: with a result, or with the error it raised."""

    execution: NodeExecution
    result: NodeResult | None
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class _TextDelta:
    """A node streamed a text delta of one of its outputs."""

    node_id: str
    variable: str
    delta: str


@dataclass(frozen=True, slots=True)
class _Abort:
    """Stop the level (the user stopped the run, or a run limit was hit)."""

    status: RunStatus
    error: str


_Message = _NodeDone | _TextDelta | _Abort


class Scheduler:
    def __init__(
        self, graph: Graph, pool: VariablePool, state: RunState, scope: Scope, *, stream_responses: bool = False
    ) -> None:
        self._graph = graph
        self._pool = pool
        self._state = state
        self._scope = scope
        self._inbox: Mailbox[_Message] = Mailbox()
        self._running: dict[str, NodeExecution] = {}
        # Ready nodes that run in the scheduler's own task (no I/O, no retry): no task, no mailbox round trip.
        self._inline: deque[tuple[NodeExecution, NodeContext]] = deque()
        self._inline_streak = 0
        self._edges = EdgeState.initial(graph.in_edges)
        self._outcome = LevelOutcome()
        self._coordinator = ResponseStreamCoordinator(graph, pool, state.emit) if stream_responses else None
        # Nodes waiting for a person, and what the response streams learned in order (both kept for a snapshot).
        self._paused: dict[str, tuple[NodeExecution, FormRequest]] = {}
        self._resolved: list[tuple[str, bool]] = []
        self._resume_from: list[PausedNode] = []

    # -- control from outside (engine watchers)

    def abort(self, status: RunStatus, error: str) -> None:
        """Stop the level as soon as possible with this status (`stopped` for the user, `failed` for a limit)."""
        self._inbox.put(_Abort(status, error))

    # -- the loop

    def restore(self, snapshot: RunSnapshot, *, emit: Callable[[EngineEvent], None]) -> None:
        """Continue a paused run: edges and response streams as they were, the paused nodes to run again. What the
        response streams had sent before the pause is replayed silently (it reached the client then)."""
        self._edges = EdgeState(dict(snapshot.remaining), dict(snapshot.predecessor), set(snapshot.taken))
        self._outcome.end_outputs.update(snapshot.end_outputs)
        self._outcome.answers.extend(snapshot.answers)
        self._resolved = list(snapshot.resolved)
        self._resume_from = list(snapshot.paused)
        if self._coordinator is not None:
            muted = ResponseStreamCoordinator(self._graph, self._pool, lambda _: None)
            muted.on_edges_taken(self._edges.taken)
            for node_id, ran in self._resolved:
                muted.on_resolved(node_id, ran=ran)
            muted.rebind(emit)
            self._coordinator = muted

    def pause_state(self) -> tuple[EdgeState, list[tuple[str, bool]], list[PausedNode], list[FormRequest]]:
        """After a run that ended `paused`: what a snapshot needs from this level."""
        paused = [
            PausedNode(spec_id, e.id, e.index, e.predecessor, e.created_at) for spec_id, (e, _) in self._paused.items()
        ]
        return self._edges, list(self._resolved), paused, [request for _, request in self._paused.values()]

    async def run(self) -> LevelOutcome:
        try:
            if self._resume_from:
                for paused in self._resume_from:
                    self._relaunch(paused)
            else:
                self._launch(self._graph.root_id, None)
            if self._coordinator is not None:
                self._coordinator.on_edges_taken(self._edges.taken)
            while self._running and self._outcome.status == "succeeded":
                if self._inline and self._inbox.empty():
                    await self._run_inline()
                    continue
                match await self._inbox.get():
                    case _NodeDone(execution, result, error):
                        self._finish(execution, result, error, follow_edges=True)
                    case _TextDelta(node_id, variable, delta):
                        if self._coordinator is not None:
                            self._coordinator.on_chunk(node_id, variable, delta)
                    case _Abort(status, error):
                        self._set_failure(status, error, None)
            if self._running:
                self._note_cancel_reason()
                await self._cancel_running()
            elif self._paused and self._outcome.status == "succeeded":
                self._outcome.status = "paused"
            elif self._coordinator is not None and self._outcome.status == "succeeded":
                self._coordinator.flush()
        except BaseException:
            self._note_cancel_reason()
            await self._cancel_running()
            raise
        return self._outcome

    def _set_failure(
        self, status: RunStatus, error: str, error_type: str | None, cause: BaseException | None = None
    ) -> None:
        if self._outcome.status == "succeeded":
            self._outcome.status = status
            self._outcome.error = error
            self._outcome.error_type = error_type
            if isinstance(cause, KawaError):  # e.g. a model's rate limit: a chat message fails with its code
                self._outcome.error_code, self._outcome.error_status = cause.code, cause.status

    async def _run_inline(self) -> None:
        execution, ctx = self._inline.popleft()
        result: NodeResult | None = None
        error: BaseException | None = None
        attributed = CURRENT_EXECUTION.set(execution.id)
        try:
            result = _checked(await execution.spec.node.run(ctx), execution)
        except Exception as exc:
            error = exc
        finally:
            CURRENT_EXECUTION.reset(attributed)
        self._finish(execution, result, error, follow_edges=True)
        self._inline_streak += 1
        if self._inline_streak >= _INLINE_BURST:
            # Let the loop breathe (stop requests, timers, other runs) during long chains of inline nodes.
            self._inline_streak = 0
            await asyncio.sleep(0)

    def _note_cancel_reason(self) -> None:
        if self._scope.depth > 0 or self._state.cancel_reason is not None:
            return
        status = self._outcome.status
        self._state.cancel_reason = (
            STOPPED_BY_USER
            if status == "stopped"
            else "Cancelled: the run failed."
            if status == "failed"
            else "Cancelled."
        )

    async def _cancel_running(self) -> None:
        self._inline.clear()
        tasks = [e.task for e in self._running.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        # Nodes that finished before the cancel still report; the rest were stopped.
        while not self._inbox.empty():
            message = self._inbox.get_nowait()
            if isinstance(message, _NodeDone) and message.execution.spec.id in self._running:
                self._finish(message.execution, message.result, message.error, follow_edges=False)
        for execution in list(self._running.values()):
            del self._running[execution.spec.id]
            if execution.spec.node.emits_node_events:
                self._state.emit(execution.finished_event("stopped", error=self._state.cancel_reason or "Cancelled."))

    # -- launching

    def _relaunch(self, paused: PausedNode) -> None:
        """Run a paused node again under its original execution (no second node_started)."""
        spec = self._graph.nodes[paused.node_id]
        execution = NodeExecution(spec, paused.index, paused.predecessor, self._scope)
        execution.id, execution.created_at = paused.execution_id, paused.created_at
        self._start(execution)

    def _launch(self, node_id: str, predecessor: str | None) -> None:
        state = self._state
        state.steps += 1
        if state.steps > state.limits.max_steps:
            self._set_failure(
                "failed",
                f"Maximum execution steps exceeded: the limit is {state.limits.max_steps}.",
                "RunLimitExceeded",
            )
            return
        spec = self._graph.nodes[node_id]
        state.node_index += 1
        execution = NodeExecution(spec, state.node_index, predecessor, self._scope)
        if spec.node.emits_node_events:
            state.emit(execution.started_event())
        if self._coordinator is not None:
            self._coordinator.on_started(node_id)
        self._start(execution)

    def _start(self, execution: NodeExecution) -> None:
        spec, state, node_id = execution.spec, self._state, execution.spec.id
        ctx = NodeContext(
            node_id=node_id,
            execution_id=execution.id,
            pool=self._pool,
            services=state.services,
            limits=state.limits,
            scope=self._scope,
            predecessor_node_id=execution.predecessor,
            stream=self._on_stream,
            emit=state.emit,
            run_subgraph=self._subgraph_runner(spec) if spec.node.is_container else None,
        )
        self._running[node_id] = execution
        if spec.node.runs_inline and not spec.node.data.retry_config.retry_enabled:
            self._inline.append((execution, ctx))
        else:
            execution.task = asyncio.create_task(self._execute(execution, ctx), name=f"node:{node_id}")

    def _on_stream(self, node_id: str, variable: str, delta: str) -> None:
        if self._coordinator is not None:
            self._inbox.put(_TextDelta(node_id, variable, delta))

    async def _execute(self, execution: NodeExecution, ctx: NodeContext) -> None:
        node = execution.spec.node
        retry = node.data.retry_config
        attempt = 0
        CURRENT_EXECUTION.set(execution.id)  # this task's own context: calls the node makes are attributed to it
        while True:
            try:
                result = _checked(await node.run(ctx), execution)
            except RunLimitExceeded as exc:
                self._inbox.put(_NodeDone(execution, None, exc))
                return
            except Exception as exc:
                if retry.retry_enabled and attempt < retry.max_retries:
                    attempt += 1
                    self._state.emit(execution.retry_event(exc, attempt))
                    if retry.retry_interval > 0:
                        await asyncio.sleep(retry.retry_interval / 1000)
                    continue
                self._inbox.put(_NodeDone(execution, None, exc))
                return
            self._inbox.put(_NodeDone(execution, result, None))
            return

    # -- completion

    def _finish(
        self, execution: NodeExecution, result: NodeResult | None, error: BaseException | None, *, follow_edges: bool
    ) -> None:
        spec = execution.spec
        del self._running[spec.id]
        node = spec.node
        strategy = node.data.error_strategy
        metadata: dict[str, Any] = {}
        if error is not None:
            message, error_type = error_text(error), type(error).__name__
            if isinstance(error, RunLimitExceeded) or strategy not in ("default-value", "fail-branch"):
                if node.emits_node_events:
                    self._state.emit(execution.finished_event("failed", error=message))
                self._set_failure("failed", message, error_type, error)
                return
            self._state.exceptions_count += 1
            outputs = error_outputs(node.data, message, error_type)
            handle = "fail-branch" if strategy == "fail-branch" else "source"
            status: NodeStatus = "exception"
            inputs = process_data = None
            metadata["error_strategy"] = strategy
            error_message: str | None = message
        else:
            assert result is not None
            if result.pause is not None:
                self._paused[spec.id] = (execution, result.pause)
                return
            outputs, handle, status = result.outputs, result.edge_source_handle, "succeeded"
            inputs, process_data, error_message = result.inputs, result.process_data, None
            if result.usage is not None:
                usage = result.usage
                self._state.total_tokens += usage.total_tokens
                self._state.total_price += usage.total_price
                self._state.currency = usage.currency
                self._state.llm_usage = self._state.llm_usage.plus(usage.as_llm_usage())
                self._outcome.total_tokens += usage.total_tokens
                metadata.update(total_tokens=usage.total_tokens, total_price=usage.total_price, currency=usage.currency)
            if result.metadata:
                metadata.update(result.metadata)
                if node.is_container:
                    self._outcome.total_tokens += int(result.metadata.get("total_tokens") or 0)
        self._pool.set_outputs(spec.id, outputs)
        if node.emits_node_events:
            self._state.emit(
                execution.finished_event(
                    status,
                    inputs=inputs,
                    process_data=process_data,
                    outputs=outputs,
                    error=error_message,
                    metadata=metadata,
                    payload_limits=self._state.limits.node_payload,
                )
            )
        node.record_outcome(outputs, self._outcome)
        text_output = node.text_output
        if text_output is not None and self._coordinator is None and outputs.get(text_output):
            self._state.emit(TextChunk(str(outputs[text_output]), [spec.id, text_output], spec.id))
        self._resolved.append((spec.id, True))
        if self._coordinator is not None:
            self._coordinator.on_resolved(spec.id, ran=True)
        if follow_edges:
            self._follow(spec.id, handle)

    def _follow(self, node_id: str, handle: str) -> None:
        readiness = follow_edges(self._graph.out_edges, self._edges, node_id, handle)
        self._resolved.extend((skipped, False) for skipped in readiness.skipped)
        coordinator = self._coordinator
        if coordinator is not None:
            for skipped in readiness.skipped:
                coordinator.on_resolved(skipped, ran=False)
            if readiness.took_edge:
                coordinator.on_edges_taken(self._edges.taken)
        predecessor = self._edges.predecessor
        for target in readiness.ready:
            if self._outcome.status != "succeeded":
                return
            self._launch(target, predecessor[target])

    # -- containers

    def _subgraph_runner(self, spec: NodeSpec) -> Callable[[VariablePool, int], Awaitable[SubgraphOutcome]]:
        subgraph = self._graph.subgraphs[spec.id]
        depth = self._scope.depth + 1

        async def run_subgraph(pool: VariablePool, index: int) -> SubgraphOutcome:
            if depth > self._state.limits.max_depth:
                raise RunLimitExceeded(
                    f"Maximum container depth exceeded: the limit is {self._state.limits.max_depth}."
                )
            scope = spec.node.child_scope(self._scope, index)
            steps_before = self._state.steps
            outcome = await Scheduler(subgraph, pool, self._state, scope).run()
            if outcome.error_type == "RunLimitExceeded":
                raise RunLimitExceeded(outcome.error or "")
            return SubgraphOutcome(
                status=outcome.status,
                error=outcome.error,
                error_type=outcome.error_type,
                loop_ended=outcome.loop_ended,
                steps=self._state.steps - steps_before,
                total_tokens=outcome.total_tokens,
            )

        return run_subgraph


def _checked(result: object, execution: NodeExecution) -> NodeResult:
    if not isinstance(result, NodeResult):
        raise TypeError(
            f"node {execution.spec.id} ({execution.spec.type}) returned {type(result).__name__}, not a NodeResult"
        )
    return result

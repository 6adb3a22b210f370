"""Building the start/next/completed events of containers (iteration, loop) from a node context."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kawa.workflow.events import (
    IterationCompleted,
    IterationNext,
    IterationStarted,
    LoopCompleted,
    LoopNext,
    LoopStarted,
    NodeStatus,
)
from kawa.workflow.runtime import NodeContext


class ContainerEvents:
    """Emits one container run's events; remembers the start so completion can report elapsed time."""

    __slots__ = (
        "_completed",
        "_ctx",
        "_next",
        "_started",
        "created_at",
        "inputs",
        "node_type",
        "started",
        "title",
        "total_tokens",
    )

    def __init__(
        self,
        ctx: NodeContext,
        node_type: str,
        title: str,
        kinds: tuple[type[IterationStarted], type[IterationNext], type[IterationCompleted]]
        | tuple[type[LoopStarted], type[LoopNext], type[LoopCompleted]],
    ) -> None:
        self._ctx = ctx
        self.node_type = node_type
        self.title = title
        self._started: type[IterationStarted | LoopStarted] = kinds[0]
        self._next: type[IterationNext | LoopNext] = kinds[1]
        self._completed: type[IterationCompleted | LoopCompleted] = kinds[2]
        self.created_at = time.time()
        self.started = time.perf_counter()
        self.inputs: Mapping[str, Any] = {}
        self.total_tokens = 0  # containers add their children's tokens as rounds end

    def start(self, inputs: Mapping[str, Any], metadata: Mapping[str, Any]) -> None:
        ctx, scope = self._ctx, self._ctx.scope
        self.inputs = inputs
        ctx.emit(
            self._started(
                id=ctx.execution_id,
                node_id=ctx.node_id,
                node_type=self.node_type,
                title=self.title,
                created_at=self.created_at,
                inputs=inputs,
                metadata=metadata,
                predecessor_node_id=ctx.predecessor_node_id,
                iteration_id=scope.iteration_id,
                iteration_index=scope.iteration_index,
                loop_id=scope.loop_id,
                loop_index=scope.loop_index,
            )
        )

    def next(self, index: int, pre_output: Any) -> None:
        ctx = self._ctx
        event = self._next(
            id=ctx.execution_id,
            node_id=ctx.node_id,
            node_type=self.node_type,
            title=self.title,
            index=index,
            created_at=time.time(),
            pre_output=pre_output,
        )
        ctx.emit(event)

    def complete(self, status: NodeStatus, *, outputs: Mapping[str, Any] | None, error: str | None, steps: int) -> None:
        ctx, scope = self._ctx, self._ctx.scope
        ctx.emit(
            self._completed(
                id=ctx.execution_id,
                node_id=ctx.node_id,
                node_type=self.node_type,
                title=self.title,
                created_at=self.created_at,
                inputs=self.inputs,
                outputs=outputs,
                status=status,
                error=error,
                elapsed_time=time.perf_counter() - self.started,
                total_tokens=self.total_tokens,
                execution_metadata={"total_tokens": self.total_tokens},
                finished_at=time.time(),
                steps=steps,
                predecessor_node_id=ctx.predecessor_node_id,
                iteration_id=scope.iteration_id,
                iteration_index=scope.iteration_index,
                loop_id=scope.loop_id,
                loop_index=scope.loop_index,
            )
        )

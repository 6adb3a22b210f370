"""The `iteration` container (and its `iteration-start`): runs the child graph once per item of an array,
sequentially or `parallel_nums` at a time. Children read `[iteration_id, "item"]` and `[iteration_id, "index"]`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from kawa.workflow.errors import NodeError
from kawa.workflow.events import STOPPED_BY_USER, IterationCompleted, IterationNext, IterationStarted
from kawa.workflow.node_failure import error_text
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.nodes.container_events import ContainerEvents
from kawa.workflow.runtime import NodeContext, Scope
from kawa.workflow.variable_pool import MISSING


class IterationError(NodeError):
    pass


class IterationData(NodeData):
    iterator_selector: list[str] = Field(default_factory=list)
    output_selector: list[str] = Field(default_factory=list)
    is_parallel: bool = False
    parallel_nums: int = 10
    error_handle_mode: Literal["terminated", "continue-on-error", "remove-abnormal-output"] = "terminated"
    flatten_output: bool = True
    start_node_id: str | None = None


_DROP = object()  # an item whose output is removed (remove-abnormal-output)


class IterationNode(Node[IterationData]):
    node_type = "iteration"
    data_model = IterationData
    emits_node_events = False
    is_container = True

    def child_scope(self, parent: Scope, index: int) -> Scope:
        return replace(parent, depth=parent.depth + 1, iteration_id=self.id, iteration_index=index)

    async def run(self, ctx: NodeContext) -> NodeResult:
        events = ContainerEvents(ctx, self.node_type, self.title, (IterationStarted, IterationNext, IterationCompleted))
        items = ctx.pool.resolve(self.data.iterator_selector)
        if items is MISSING or items is None:
            items = []
        inputs = {"iterator_selector": items}
        events.start(inputs, {"iteration_length": len(items) if isinstance(items, list) else 0})
        try:
            if not isinstance(items, list):
                raise IterationError(f"Invalid iterator value: {items}, please provide a list.")
            if self.data.is_parallel and len(items) > 1:
                results = await self._run_parallel(ctx, events, items)
            else:
                results = await self._run_sequential(ctx, events, items)
        except asyncio.CancelledError:
            events.complete("stopped", outputs=None, error=STOPPED_BY_USER, steps=0)
            raise
        except Exception as exc:
            events.complete(
                "failed",
                outputs=None,
                error=error_text(exc),
                steps=len(items) if isinstance(items, list) else 0,
            )
            raise
        output = [r for r in results if r is not _DROP]
        if self.data.flatten_output and output and all(isinstance(r, list) for r in output):
            output = [x for r in output for x in r]
        outputs = {"output": output}
        events.complete("succeeded", outputs=outputs, error=None, steps=len(items))
        return NodeResult(inputs=inputs, outputs=outputs, metadata={"total_tokens": events.total_tokens})

    async def _run_item(self, ctx: NodeContext, events: ContainerEvents, index: int, item: Any) -> Any:
        pool = ctx.pool.child()
        pool.set_outputs(self.id, {"item": item, "index": index})
        outcome = await ctx.run_subgraph(pool, index=index)
        events.total_tokens += outcome.total_tokens
        if outcome.status != "succeeded":
            mode = self.data.error_handle_mode
            if mode == "continue-on-error":
                return None
            if mode == "remove-abnormal-output":
                return _DROP
            raise IterationError(outcome.error or "iteration failed")
        return pool.get(self.data.output_selector) if self.data.output_selector else None

    async def _run_sequential(self, ctx: NodeContext, events: ContainerEvents, items: list[Any]) -> list[Any]:
        results: list[Any] = []
        for index, item in enumerate(items):
            events.next(index, results[-1] if results else None)
            results.append(await self._run_item(ctx, events, index, item))
        return results

    async def _run_parallel(self, ctx: NodeContext, events: ContainerEvents, items: list[Any]) -> list[Any]:
        gate = asyncio.Semaphore(max(1, self.data.parallel_nums))
        results: list[Any] = [None] * len(items)

        async def one(index: int, item: Any) -> None:
            async with gate:
                events.next(index, None)
                results[index] = await self._run_item(ctx, events, index, item)

        tasks = [asyncio.create_task(one(i, item), name=f"iteration:{self.id}:{i}") for i, item in enumerate(items)]
        try:
            for finished in asyncio.as_completed(tasks):
                await finished  # raises the first item error (terminated mode)
        finally:
            pending = [t for t in tasks if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        return results


class IterationStartNode(Node[NodeData]):
    node_type = "iteration-start"
    data_model = NodeData
    emits_node_events = False
    runs_inline = True

    async def run(self, ctx: NodeContext) -> NodeResult:
        return NodeResult()

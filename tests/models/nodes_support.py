"""Running one model-backed node outside a graph: a real NodeContext over a VariablePool, streams recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kawa.models.registry import ModelRuntime
from kawa.models.types import ChatMessage
from kawa.workflow.nodes.base import Node, NodeResult
from kawa.workflow.runtime import EngineLimits, NodeContext, NodeServices, Scope
from kawa.workflow.variable_pool import VariablePool


@dataclass
class NodeRun:
    result: NodeResult
    streamed: list[tuple[str, str]] = field(default_factory=list)

    def streamed_text(self, variable: str = "text") -> str:
        return "".join(delta for var, delta in self.streamed if var == variable)


async def run_node(
    node_class: type[Node[Any]],
    data: dict[str, Any],
    runtime: ModelRuntime,
    *,
    system: dict[str, Any] | None = None,
    outputs: dict[str, dict[str, Any]] | None = None,
    conversation_history: Sequence[ChatMessage] = (),
    file_reader: Any = None,
) -> NodeRun:
    node = node_class.parse("node1", data)
    pool = VariablePool(system=system or {})
    for node_id, values in (outputs or {}).items():
        pool.set_outputs(node_id, values)
    streamed: list[tuple[str, str]] = []
    ctx = NodeContext(
        node_id="node1",
        execution_id="exec-1",
        pool=pool,
        services=NodeServices(models=runtime, conversation_history=conversation_history, file_reader=file_reader),
        limits=EngineLimits(),
        scope=Scope(),
        predecessor_node_id=None,
        stream=lambda node_id, var, delta: streamed.append((var, delta)),
        emit=lambda event: None,
        run_subgraph=None,
    )
    result = await node.run(ctx)
    return NodeRun(result=result, streamed=streamed)

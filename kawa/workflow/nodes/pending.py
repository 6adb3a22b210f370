"""Placeholders for node types kawa does not implement yet (none today: the `agent` node has its own module).

They let DSL import accept such apps today; running one fails the node with a clear error. A real implementation
replaces its placeholder in `nodes/__init__.py`.
"""

from __future__ import annotations

from typing import Any

from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext

PENDING_TYPES: tuple[str, ...] = ()


class NodeNotAvailable(NodeError):
    pass


class PendingNode(Node[NodeData]):
    data_model = NodeData

    async def run(self, ctx: NodeContext) -> NodeResult:
        raise NodeNotAvailable(f"The '{self.node_type}' node is not available in this kawa build yet.")


def pending_node(node_type: str) -> type[Node[Any]]:
    name = "".join(part.capitalize() for part in node_type.split("-")) + "Pending"
    return type(name, (PendingNode,), {"node_type": node_type, "__slots__": ()})

"""The `start` node: publishes the run's inputs (and `sys.*`) as its outputs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext


class StartVariable(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable: str
    label: str | None = None
    type: str = "text-input"
    required: bool = False
    default: Any = None


class StartData(NodeData):
    variables: list[StartVariable] = Field(default_factory=list)


class StartNode(Node[StartData]):
    node_type = "start"
    data_model = StartData
    runs_inline = True

    def check(self) -> None:
        seen: set[str] = set()
        for i, variable in enumerate(self.data.variables):
            if not variable.variable:
                raise NodeConfigError(f"variables[{i}].variable", "a start variable needs a name")
            if variable.variable in seen:
                raise NodeConfigError(f"variables[{i}].variable", f"duplicate start variable '{variable.variable}'")
            seen.add(variable.variable)

    async def run(self, ctx: NodeContext) -> NodeResult:
        values = dict(ctx.pool.user_inputs)
        for key, value in ctx.pool.system.items():
            values[f"sys.{key}"] = value
        return NodeResult(inputs=values, outputs=values)

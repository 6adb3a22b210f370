"""The `end` node of workflow apps: names the run's outputs; streams them as text chunks (joined by "\\n")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.outcome import LevelOutcome
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import Segment, VariableSegment


class EndOutput(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable: str
    value_selector: list[str] = Field(default_factory=list)
    value_type: str | None = None


class EndData(NodeData):
    outputs: list[EndOutput] = Field(default_factory=list)


class EndNode(Node[EndData]):
    node_type = "end"
    data_model = EndData
    runs_inline = True
    is_response = True

    def response_segments(self) -> Sequence[Segment]:
        segments: list[Segment] = []
        for output in self.data.outputs:
            if len(output.value_selector) < 2:
                continue
            if segments:
                segments.append("\n")
            segments.append(VariableSegment(tuple(output.value_selector)))
        return segments

    def record_outcome(self, outputs: Mapping[str, Any], level: LevelOutcome) -> None:
        level.end_outputs.update(outputs)

    async def run(self, ctx: NodeContext) -> NodeResult:
        outputs = {o.variable: ctx.pool.get(o.value_selector) for o in self.data.outputs}
        return NodeResult(inputs=outputs, outputs=outputs)

"""The `if-else` node: the first case whose conditions hold selects its edge (`case_id`); otherwise "false"."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.conditions import Condition, evaluate_conditions
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext


class Case(BaseModel):
    model_config = ConfigDict(extra="allow")

    case_id: str
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(default_factory=list)


class IfElseData(NodeData):
    cases: list[Case] | None = None
    # Legacy single-condition form (handles "true"/"false").
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] | None = None


class IfElseNode(Node[IfElseData]):
    node_type = "if-else"
    data_model = IfElseData
    runs_inline = True

    def _cases(self) -> list[Case]:
        if self.data.cases is not None:
            return self.data.cases
        return [
            Case(case_id="true", logical_operator=self.data.logical_operator, conditions=self.data.conditions or [])
        ]

    async def run(self, ctx: NodeContext) -> NodeResult:
        inputs: list[dict[str, Any]] = []
        condition_results: list[dict[str, Any]] = []
        selected: str | None = None
        for case in self._cases():
            outcome = evaluate_conditions(case.conditions, case.logical_operator, ctx.pool)
            inputs.extend(outcome.inputs)
            condition_results.append(
                {"case_id": case.case_id, "results": outcome.results, "final_result": outcome.final}
            )
            if outcome.final:
                selected = case.case_id
                break
        return NodeResult(
            inputs={"conditions": inputs},
            process_data={"condition_results": condition_results},
            outputs={"result": selected is not None, "selected_case_id": selected},
            edge_source_handle=selected or "false",
        )

"""The `variable-aggregator` node (legacy type `variable-assigner`): the first non-null of its variables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext


class AggregatorGroup(BaseModel):
    model_config = ConfigDict(extra="allow")

    group_name: str
    output_type: str = "any"
    variables: list[list[str]] = Field(default_factory=list)


class AdvancedSettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    group_enabled: bool = False
    groups: list[AggregatorGroup] = Field(default_factory=list)


class VariableAggregatorData(NodeData):
    output_type: str = "any"
    variables: list[list[str]] = Field(default_factory=list)
    advanced_settings: AdvancedSettings | None = None


class VariableAggregatorNode(Node[VariableAggregatorData]):
    node_type = "variable-aggregator"
    data_model = VariableAggregatorData
    runs_inline = True

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        for i, selector in enumerate(self.data.variables):
            yield f"variables[{i}]", selector
        if self.data.advanced_settings is not None:
            for g, group in enumerate(self.data.advanced_settings.groups):
                for i, selector in enumerate(group.variables):
                    yield f"advanced_settings.groups[{g}].variables[{i}]", selector

    async def run(self, ctx: NodeContext) -> NodeResult:
        settings = self.data.advanced_settings
        if settings is not None and settings.group_enabled:
            outputs: dict[str, Any] = {}
            inputs: dict[str, Any] = {}
            for group in settings.groups:
                value, selector = _first_set(group.variables, ctx)
                outputs[group.group_name] = {"output": value}
                if selector is not None:
                    inputs[".".join(selector)] = value
            return NodeResult(inputs=inputs, outputs=outputs)
        value, selector = _first_set(self.data.variables, ctx)
        inputs = {".".join(selector): value} if selector is not None else {}
        return NodeResult(inputs=inputs, outputs={"output": value})


def _first_set(selectors: Sequence[Sequence[str]], ctx: NodeContext) -> tuple[Any, Sequence[str] | None]:
    for selector in selectors:
        value = ctx.pool.get(selector)
        if value is not None:
            return value, selector
    return None, None


class LegacyVariableAssignerNode(VariableAggregatorNode):
    """Dify's old name for the aggregator."""

    node_type = "variable-assigner"

"""The `assigner` node: writes conversation variables (and loop variables). v1 has one write; v2 a list of items
with the operations of `assigner_operations`. Old values are never mutated in place: events keep what they showed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.nodes.assigner_operations import NO_INPUT, OPERATIONS, AssignerError, apply, value_type
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext
from kawa.workflow.variable_pool import MISSING

_V1_MODES = {"over-write": "over-write", "append": "append", "clear": "clear"}


class AssignItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable_selector: list[str]
    input_type: Literal["variable", "constant"] = "variable"
    operation: str
    value: Any = None


class AssignerData(NodeData):
    # v1
    assigned_variable_selector: list[str] = Field(default_factory=list)
    write_mode: str = "over-write"
    input_variable_selector: list[str] = Field(default_factory=list)
    # v2
    items: list[AssignItem] = Field(default_factory=list)


class VariableAssignerNode(Node[AssignerData]):
    node_type = "assigner"
    data_model = AssignerData
    runs_inline = True

    def _items(self) -> list[AssignItem]:
        if self.data.version == "2" or self.data.items:
            return self.data.items
        return [
            AssignItem(
                variable_selector=self.data.assigned_variable_selector,
                input_type="variable",
                operation=_V1_MODES.get(self.data.write_mode, self.data.write_mode),
                value=self.data.input_variable_selector,
            )
        ]

    def check(self) -> None:
        prefix = "items" if (self.data.version == "2" or self.data.items) else None
        for i, item in enumerate(self._items()):
            at = f"{prefix}[{i}]" if prefix else "write_mode"
            if item.operation not in OPERATIONS:
                raise NodeConfigError(f"{at}.operation" if prefix else at, f"unknown operation '{item.operation}'")
            if len(item.variable_selector) != 2:
                raise NodeConfigError(
                    f"{at}.variable_selector" if prefix else "assigned_variable_selector",
                    "must name a variable as [namespace, name]",
                )

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        for i, item in enumerate(self.data.items):
            if item.input_type == "variable" and isinstance(item.value, list) and item.value:
                yield f"items[{i}].value", item.value

    async def run(self, ctx: NodeContext) -> NodeResult:
        pool = ctx.pool
        inputs: dict[str, Any] = {}
        updated: list[dict[str, Any]] = []
        for item in self._items():
            selector = item.variable_selector
            name = ".".join(selector)
            current = pool.resolve(selector)
            if current is MISSING:
                raise AssignerError(f"Variable {name} not found")
            value: Any = None
            if item.operation not in NO_INPUT:
                if item.input_type == "variable":
                    source = item.value if isinstance(item.value, list) else []
                    value = pool.resolve(source)
                    if value is MISSING:
                        raise AssignerError(f"Variable {'.'.join(source)} not found")
                else:
                    value = item.value
            new_value = apply(item.operation, current, value, name)
            pool.set(selector, new_value)
            inputs[name] = value
            updated.append(
                {
                    "name": selector[1],
                    "selector": list(selector),
                    "value_type": value_type(new_value),
                    "new_value": new_value,
                    "operation": item.operation,
                }
            )
        return NodeResult(inputs=inputs, process_data={"updated_variables": updated}, outputs={})

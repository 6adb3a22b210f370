"""The `list-operator` node: filter, extract, order and limit an array -> `{result, first_record, last_record}`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.conditions import evaluate
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.values import file_attribute, is_file
from kawa.workflow.variable_pool import MISSING, VariablePool


class ListOperatorError(NodeError):
    pass


class FilterCondition(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str = ""
    comparison_operator: str = "contains"
    value: Any = None


class FilterBy(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool = False
    conditions: list[FilterCondition] = Field(default_factory=list)


class OrderBy(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool = False
    key: str = ""
    value: Literal["asc", "desc"] = "asc"


class Limit(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool = False
    size: int = -1


class ExtractBy(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool = False
    serial: str | int | None = "1"


class ListOperatorData(NodeData):
    variable: list[str] = Field(default_factory=list)
    filter_by: FilterBy = Field(default_factory=FilterBy)
    order_by: OrderBy = Field(default_factory=OrderBy)
    limit: Limit = Field(default_factory=Limit)
    extract_by: ExtractBy = Field(default_factory=ExtractBy)


class ListOperatorNode(Node[ListOperatorData]):
    node_type = "list-operator"
    data_model = ListOperatorData
    runs_inline = True

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        if self.data.variable:
            yield "variable", self.data.variable

    async def run(self, ctx: NodeContext) -> NodeResult:
        value = ctx.pool.resolve(self.data.variable)
        name = ".".join(self.data.variable)
        if value is MISSING:
            raise ListOperatorError(f"Variable not found for selector: {name}")
        inputs = {"variable": value}
        if value is None or value == []:
            return NodeResult(inputs=inputs, outputs={"result": [], "first_record": None, "last_record": None})
        if not isinstance(value, list):
            raise ListOperatorError(f"Variable {name} is not an array")
        items: list[Any] = list(value)
        data = self.data
        if data.filter_by.enabled:
            for condition in data.filter_by.conditions:
                expected = _expected(condition.value, ctx.pool)
                items = [i for i in items if evaluate(condition.comparison_operator, _key(i, condition.key), expected)]
        if data.extract_by.enabled:
            items = _extract(items, data.extract_by.serial, ctx.pool)
        if data.order_by.enabled:
            items = sorted(
                items, key=lambda i: _sort_key(_key(i, data.order_by.key)), reverse=data.order_by.value == "desc"
            )
        if data.limit.enabled and data.limit.size >= 0:
            items = items[: data.limit.size]
        return NodeResult(
            inputs=inputs,
            outputs={
                "result": items,
                "first_record": items[0] if items else None,
                "last_record": items[-1] if items else None,
            },
        )


def _expected(value: Any, pool: VariablePool) -> Any:
    if isinstance(value, str) and "{{#" in value:
        return render_text(value, pool)
    return value


def _key(item: Any, key: str) -> Any:
    if is_file(item):
        return file_attribute(item, key) if key else item
    if isinstance(item, dict) and key:
        return item.get(key)
    return item


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def _extract(items: list[Any], serial: str | int | None, pool: VariablePool) -> list[Any]:
    text = _expected(serial, pool) if serial is not None else "1"
    try:
        position = int(text)
    except (TypeError, ValueError):
        raise ListOperatorError(f"Invalid serial index: {text}") from None
    if position < 1 or position > len(items):
        raise ListOperatorError(f"Serial index {position} is out of range (1..{len(items)})")
    return [items[position - 1]]

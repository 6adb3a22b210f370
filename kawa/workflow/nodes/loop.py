"""The `loop` container (with `loop-start` and `loop-end`): reruns the child graph up to `loop_count` times until
a break condition holds or a loop-end node runs. Children read and assign `[loop_id, <label>]`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.conditions import Condition, ConditionError, evaluate_conditions
from kawa.workflow.errors import NodeError
from kawa.workflow.events import STOPPED_BY_USER, LoopCompleted, LoopNext, LoopStarted
from kawa.workflow.node_failure import error_text
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.nodes.container_events import ContainerEvents
from kawa.workflow.outcome import LevelOutcome
from kawa.workflow.runtime import NodeContext, Scope
from kawa.workflow.variable_pool import MISSING, VariablePool


class LoopError(NodeError):
    pass


class LoopVariable(BaseModel):
    model_config = ConfigDict(extra="allow")

    label: str
    var_type: str = "string"
    value_type: Literal["variable", "constant"] = "constant"
    value: Any = None


class LoopData(NodeData):
    loop_count: int = 1
    break_conditions: list[Condition] = Field(default_factory=list)
    logical_operator: Literal["and", "or"] = "and"
    loop_variables: list[LoopVariable] = Field(default_factory=list)
    start_node_id: str | None = None


class LoopNode(Node[LoopData]):
    node_type = "loop"
    data_model = LoopData
    emits_node_events = False
    is_container = True

    def check(self) -> None:
        if self.data.loop_count < 0:
            raise NodeConfigError("loop_count", "must not be negative")
        labels: set[str] = set()
        for i, variable in enumerate(self.data.loop_variables):
            if variable.label in labels:
                raise NodeConfigError(f"loop_variables[{i}].label", f"duplicate loop variable '{variable.label}'")
            labels.add(variable.label)

    def child_scope(self, parent: Scope, index: int) -> Scope:
        return replace(parent, depth=parent.depth + 1, loop_id=self.id, loop_index=index)

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        for i, variable in enumerate(self.data.loop_variables):
            if variable.value_type == "variable" and isinstance(variable.value, list) and variable.value:
                yield f"loop_variables[{i}].value", variable.value

    async def run(self, ctx: NodeContext) -> NodeResult:
        events = ContainerEvents(ctx, self.node_type, self.title, (LoopStarted, LoopNext, LoopCompleted))
        count = self.data.loop_count
        inputs: dict[str, Any] = {"loop_count": count}
        pool = ctx.pool.child()
        try:
            values = self._initial_values(ctx.pool)
        except LoopError as exc:
            events.start(inputs, {"loop_length": count})
            events.complete("failed", outputs=None, error=str(exc), steps=0)
            raise
        inputs.update(values)
        pool.set_outputs(self.id, values)
        events.start(inputs, {"loop_length": count})
        outputs: dict[str, Any] = {**values, "loop_round": 0}
        rounds = 0
        try:
            if self._should_break(pool):
                count = 0
            for index in range(count):
                outcome = await ctx.run_subgraph(pool, index=index)
                events.total_tokens += outcome.total_tokens
                rounds = index + 1
                if outcome.status != "succeeded":
                    raise LoopError(outcome.error or "loop round failed")
                outputs = {v.label: pool.get([self.id, v.label]) for v in self.data.loop_variables}
                outputs["loop_round"] = rounds
                if outcome.loop_ended or self._should_break(pool):
                    break
                if index + 1 < count:
                    events.next(index + 1, outputs)
        except asyncio.CancelledError:
            events.complete("stopped", outputs=None, error=STOPPED_BY_USER, steps=rounds)
            raise
        except Exception as exc:
            events.complete("failed", outputs=None, error=error_text(exc), steps=rounds)
            raise
        events.complete("succeeded", outputs=outputs, error=None, steps=rounds)
        return NodeResult(inputs=inputs, outputs=outputs, metadata={"total_tokens": events.total_tokens})

    def _initial_values(self, pool: VariablePool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for variable in self.data.loop_variables:
            if variable.value_type == "variable":
                selector = variable.value if isinstance(variable.value, list) else []
                value = pool.resolve(selector)
                if value is MISSING:
                    raise LoopError(f"Invalid value for loop variable {variable.label}")
                values[variable.label] = value
            else:
                values[variable.label] = _constant(variable.var_type, variable.value)
        return values

    def _should_break(self, pool: VariablePool) -> bool:
        if not self.data.break_conditions:
            return False
        try:
            return evaluate_conditions(self.data.break_conditions, self.data.logical_operator, pool).final
        except ConditionError:
            return False


def _constant(var_type: str, value: Any) -> Any:
    if not isinstance(value, str) or var_type == "string":
        return value
    if var_type == "number":
        try:
            number = float(value)
        except ValueError:
            raise LoopError(f"Invalid number: {value}") from None
        return int(number) if number.is_integer() and "." not in value else number
    if var_type == "boolean":
        return value.strip().lower() in ("true", "1")
    try:
        return json.loads(value) if value.strip() else ([] if var_type.startswith("array") else {})
    except ValueError:
        raise LoopError(f"Invalid {var_type} value: {value}") from None


class LoopStartNode(Node[NodeData]):
    node_type = "loop-start"
    data_model = NodeData
    emits_node_events = False
    runs_inline = True

    async def run(self, ctx: NodeContext) -> NodeResult:
        return NodeResult()


class LoopEndNode(Node[NodeData]):
    node_type = "loop-end"
    data_model = NodeData
    runs_inline = True

    def record_outcome(self, outputs: Mapping[str, Any], level: LevelOutcome) -> None:
        level.loop_ended = True

    async def run(self, ctx: NodeContext) -> NodeResult:
        return NodeResult()

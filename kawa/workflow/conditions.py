"""Comparison operators shared by if-else, loop break conditions and list-operator filters (Dify semantics).

`evaluate(operator, value, expected)` compares one value; `evaluate_conditions` runs a condition group with
short-circuit and/or. A selector that resolves to nothing compares as null.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kawa.workflow.errors import NodeError
from kawa.workflow.template import render_text
from kawa.workflow.values import file_attribute, is_file, is_file_list
from kawa.workflow.variable_pool import VariablePool

OPERATORS: Final = frozenset(
    {
        "contains",
        "not contains",
        "start with",
        "end with",
        "is",
        "is not",
        "empty",
        "not empty",
        "in",
        "not in",
        "all of",
        "=",
        "≠",
        ">",
        "<",
        "≥",
        "≤",
        "null",
        "not null",
        "exists",
        "not exists",
    }
)
_ALIASES: Final = {"!=": "≠", ">=": "≥", "<=": "≤", "==": "="}


class ConditionError(NodeError):
    pass


def _operator(value: str) -> str:
    value = _ALIASES.get(value, value)
    if value not in OPERATORS:
        raise ValueError(f"unknown comparison operator '{value}'")
    return value


class SubCondition(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str = ""
    comparison_operator: str
    value: Any = None

    @field_validator("comparison_operator")
    @classmethod
    def _known_operator(cls, value: str) -> str:
        return _operator(value)


class SubVariableCondition(BaseModel):
    model_config = ConfigDict(extra="allow")

    logical_operator: Literal["and", "or"] = "and"
    conditions: list[SubCondition] = Field(default_factory=list)


class Condition(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable_selector: list[str]
    comparison_operator: str
    value: Any = None
    sub_variable_condition: SubVariableCondition | None = None

    @field_validator("comparison_operator")
    @classmethod
    def _known_operator(cls, value: str) -> str:
        return _operator(value)


@dataclass(frozen=True, slots=True)
class ConditionsResult:
    inputs: list[dict[str, Any]]
    results: list[bool]
    final: bool


def evaluate_conditions(conditions: Sequence[Condition], logical_operator: str, pool: VariablePool) -> ConditionsResult:
    inputs: list[dict[str, Any]] = []
    results: list[bool] = []
    for condition in conditions:
        value = pool.get(condition.variable_selector)
        operator = condition.comparison_operator
        if operator in ("contains", "not contains", "all of") and is_file_list(value):
            sub = condition.sub_variable_condition
            if sub is None or not sub.conditions:
                raise ConditionError("Sub variable is required")
            result = evaluate_file_conditions(value, sub.conditions, sub.logical_operator)
        else:
            expected = condition.value
            if isinstance(expected, str) and "{{#" in expected:
                expected = render_text(expected, pool)
            inputs.append({"actual_value": value, "expected_value": expected, "comparison_operator": operator})
            result = evaluate(operator, value, expected)
        results.append(result)
        if (logical_operator == "and" and not result) or (logical_operator == "or" and result):
            return ConditionsResult(inputs, results, result)
    final = all(results) if logical_operator == "and" else any(results)
    return ConditionsResult(inputs, results, final)


def evaluate_file_conditions(files: Sequence[Any], conditions: Sequence[SubCondition], logical_operator: str) -> bool:
    outcomes: list[bool] = []
    for condition in conditions:
        expected = condition.value
        values = [file_attribute(f, condition.key) if is_file(f) else None for f in files]
        if condition.key == "extension":
            expected = _dotted(expected)
            values = [_dotted(v) for v in values]
        checks = [evaluate(condition.comparison_operator, v, expected) for v in values]
        outcomes.append(all(checks) if "not" in condition.comparison_operator else any(checks))
    return all(outcomes) if logical_operator == "and" else any(outcomes)


def _dotted(value: Any) -> Any:
    if isinstance(value, str) and value and not value.startswith("."):
        return "." + value
    return value


def evaluate(operator: str, value: Any, expected: Any) -> bool:
    """Compare `value` (the variable) with `expected` (the condition's value) as Dify's condition processor does."""
    if isinstance(value, bool) and expected is not None and operator not in ("exists", "not exists"):
        expected = [_to_bool(e) for e in expected] if isinstance(expected, list) else _to_bool(expected)
    match operator:
        case "contains":
            return bool(value) and expected in _sequence(value)
        case "not contains":
            return not value or expected not in _sequence(value)
        case "start with":
            return bool(value) and _string(value).startswith(str(expected))
        case "end with":
            return bool(value) and _string(value).endswith(str(expected))
        case "is":
            return value is not None and _string_or_bool(value) == expected
        case "is not":
            return value is not None and _string_or_bool(value) != expected
        case "empty":
            return not value
        case "not empty":
            return bool(value)
        case "=" | "≠":
            if value is None:
                return False
            equal = _number_or_bool(value) == _cast_like(value, expected)
            return equal if operator == "=" else not equal
        case ">" | "<" | "≥" | "≤":
            if value is None:
                return False
            number = _number(value)
            other = _cast_like(number, expected)
            if operator == ">":
                return bool(number > other)
            if operator == "<":
                return bool(number < other)
            if operator == "≥":
                return bool(number >= other)
            return bool(number <= other)
        case "null":
            return value is None
        case "not null":
            return value is not None
        case "in":
            return bool(value) and value in _expected_list(expected)
        case "not in":
            return not value or value not in _expected_list(expected)
        case "all of":
            if not isinstance(expected, list):
                raise ConditionError("Invalid expected value type: array")
            return bool(value) and all(item in value for item in expected)
        case "exists":
            return value is not None
        case "not exists":
            return value is None
    raise ConditionError(f"Unsupported operator: {operator}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool | int):
        return bool(value)
    if isinstance(value, str):
        try:
            loaded = json.loads(value.strip().lower())
        except ValueError:
            loaded = None
        if isinstance(loaded, bool | int):
            return bool(loaded)
    raise ConditionError(f"unexpected value: type={type(value)}, value={value}")


def _sequence(value: Any) -> Any:
    if not isinstance(value, str | list):
        raise ConditionError("Invalid actual value type: string or array")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ConditionError("Invalid actual value type: string")
    return value


def _string_or_bool(value: Any) -> Any:
    if not isinstance(value, str | bool):
        raise ConditionError("Invalid actual value type: string or boolean")
    return value


def _number_or_bool(value: Any) -> Any:
    if not isinstance(value, int | float):  # bool is an int
        raise ConditionError("Invalid actual value type: number or boolean")
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConditionError("Invalid actual value type: number")
    return value


def _cast_like(value: Any, expected: Any) -> Any:
    if isinstance(value, bool):
        return bool(expected)
    try:
        if isinstance(value, int):
            try:
                return int(expected)
            except ValueError:
                return float(expected)
        return float(expected)
    except (TypeError, ValueError):
        raise ConditionError(f"Cannot compare {value!r} with {expected!r}: not a number") from None


def _expected_list(expected: Any) -> list[Any]:
    if not isinstance(expected, list):
        raise ConditionError("Invalid expected value type: array")
    return expected

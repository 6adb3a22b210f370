"""Comparison operators shared by if-else, loop break conditions and list-operator filters (Dify semantics).

`evaluate(operator, value, expected)` compares one value; `evaluate_conditions` runs a condition group with
short-circuit and/or. A selector that resolves to nothing compares as null.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import ge, gt, le, lt
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
    compare = _COMPARISONS.get(operator)
    if compare is None:
        raise ConditionError(f"Unsupported operator: {operator}")
    return compare(value, expected)


# -- one comparison per operator: text and sequences, presence, numbers, membership

Comparison = Callable[[Any, Any], bool]


def _contains(value: Any, expected: Any) -> bool:
    return bool(value) and expected in _sequence(value)


def _not_contains(value: Any, expected: Any) -> bool:
    return not value or expected not in _sequence(value)


def _starts_with(value: Any, expected: Any) -> bool:
    return bool(value) and _string(value).startswith(str(expected))


def _ends_with(value: Any, expected: Any) -> bool:
    return bool(value) and _string(value).endswith(str(expected))


def _is(value: Any, expected: Any) -> bool:
    return value is not None and _string_or_bool(value) == expected


def _is_not(value: Any, expected: Any) -> bool:
    return value is not None and _string_or_bool(value) != expected


def _equal(value: Any, expected: Any) -> bool:
    return value is not None and _number_or_bool(value) == _cast_like(value, expected)


def _not_equal(value: Any, expected: Any) -> bool:
    return value is not None and not _equal(value, expected)


def _ordered(test: Callable[[Any, Any], Any]) -> Comparison:
    def compare(value: Any, expected: Any) -> bool:
        if value is None:
            return False
        number = _number(value)
        return bool(test(number, _cast_like(number, expected)))

    return compare


def _in(value: Any, expected: Any) -> bool:
    return bool(value) and value in _expected_list(expected)


def _not_in(value: Any, expected: Any) -> bool:
    return not value or value not in _expected_list(expected)


def _all_of(value: Any, expected: Any) -> bool:
    wanted = _expected_list(expected)
    return bool(value) and all(item in value for item in wanted)


_COMPARISONS: Final[Mapping[str, Comparison]] = {
    "contains": _contains,
    "not contains": _not_contains,
    "start with": _starts_with,
    "end with": _ends_with,
    "is": _is,
    "is not": _is_not,
    "empty": lambda value, _: not value,
    "not empty": lambda value, _: bool(value),
    "null": lambda value, _: value is None,
    "not null": lambda value, _: value is not None,
    "exists": lambda value, _: value is not None,
    "not exists": lambda value, _: value is None,
    "=": _equal,
    "≠": _not_equal,
    ">": _ordered(gt),
    "<": _ordered(lt),
    "≥": _ordered(ge),
    "≤": _ordered(le),
    "in": _in,
    "not in": _not_in,
    "all of": _all_of,
}


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

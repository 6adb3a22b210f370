"""Built-in tools, named as Dify's built-in providers name them (`time`, `math`), so exported apps find them."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ToolError(Exception):
    """A tool could not do what it was asked (bad parameters); the message is shown to the user or model."""


@dataclass(frozen=True, slots=True)
class ToolOutput:
    text: str
    json: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BuiltinTool:
    provider: str
    name: str
    label: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of the arguments, for function calling
    run: Callable[[Mapping[str, Any]], ToolOutput]

    def invoke(self, arguments: Mapping[str, Any]) -> ToolOutput:
        return self.run(arguments)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name or name == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ToolError(f"Invalid timezone: {name}") from e


def current_time(args: Mapping[str, Any]) -> ToolOutput:
    zone = _zone(args.get("timezone"))
    fmt = args.get("format") or "%Y-%m-%d %H:%M:%S %Z"
    return ToolOutput(datetime.now(zone or UTC).strftime(fmt))


def weekday(args: Mapping[str, Any]) -> ToolOutput:
    try:
        day = datetime(int(args["year"]), int(args["month"]), int(args["day"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ToolError("Invalid date: give year, month and day as numbers.") from e
    return ToolOutput(f"{day.strftime('%B')} {day.day}, {day.year} is {day.strftime('%A')}.")


def timezone_conversion(args: Mapping[str, Any]) -> ToolOutput:
    try:
        moment = datetime.strptime(str(args["current_time"]), "%Y-%m-%d %H:%M:%S")
    except (KeyError, ValueError) as e:
        raise ToolError("current_time must look like 2024-01-31 13:45:00.") from e
    source = _zone(args.get("current_timezone")) or UTC
    target = _zone(args.get("target_timezone")) or UTC
    return ToolOutput(moment.replace(tzinfo=source).astimezone(target).strftime("%Y-%m-%d %H:%M:%S %Z"))


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 1000:
            raise ToolError("Exponent too large.")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return _FUNCTIONS[node.func.id](*[_evaluate(a) for a in node.args])
    raise ToolError(f"Unsupported expression element: {ast.dump(node)[:40]}")


def eval_expression(args: Mapping[str, Any]) -> ToolOutput:
    """Arithmetic only: numbers, + - * / // % **, parentheses, a few math functions. Never Python `eval`."""
    expression = str(args.get("expression", "")).replace("^", "**").strip()
    if not expression or len(expression) > 500:
        raise ToolError("Give an arithmetic expression of at most 500 characters.")
    try:
        value = _evaluate(ast.parse(expression, mode="eval"))
    except ToolError:
        raise
    except (SyntaxError, ZeroDivisionError, ValueError, OverflowError, TypeError) as e:
        raise ToolError(f"Invalid expression: {e}") from e
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return ToolOutput(str(value), [{"expression": expression, "result": value}])


def _schema(properties: dict[str, Any], required: list[str]) -> Mapping[str, Any]:
    return MappingProxyType({"type": "object", "properties": properties, "required": required})


_TOOLS = (
    BuiltinTool(
        "time",
        "current_time",
        "Current Time",
        "Get the current time in a timezone.",
        _schema(
            {
                "format": {"type": "string", "description": "strftime format"},
                "timezone": {"type": "string", "description": "IANA timezone, e.g. Asia/Tokyo"},
            },
            [],
        ),
        current_time,
    ),
    BuiltinTool(
        "time",
        "weekday",
        "Weekday Calculator",
        "The weekday of a date.",
        _schema(
            {"year": {"type": "number"}, "month": {"type": "number"}, "day": {"type": "number"}},
            ["year", "month", "day"],
        ),
        weekday,
    ),
    BuiltinTool(
        "time",
        "timezone_conversion",
        "Timezone Conversion",
        "Convert a time between timezones.",
        _schema(
            {
                "current_time": {"type": "string", "description": "YYYY-MM-DD HH:MM:SS"},
                "current_timezone": {"type": "string"},
                "target_timezone": {"type": "string"},
            },
            ["current_time", "target_timezone"],
        ),
        timezone_conversion,
    ),
    BuiltinTool(
        "math",
        "eval_expression",
        "Evaluate expression",
        "Evaluate an arithmetic expression.",
        _schema({"expression": {"type": "string", "description": "e.g. (3 + 4) * 2 / sqrt(16)"}}, ["expression"]),
        eval_expression,
    ),
)

BUILTIN_TOOLS: Mapping[tuple[str, str], BuiltinTool] = MappingProxyType({(t.provider, t.name): t for t in _TOOLS})


def find_builtin_tool(provider: str, name: str) -> BuiltinTool | None:
    """By Dify provider id (`time`, `langgenius/time/time`) and tool name."""
    short = provider.strip().rstrip("/").rsplit("/", 1)[-1]
    return BUILTIN_TOOLS.get((short, name)) or BUILTIN_TOOLS.get(("math" if short == "maths" else short, name))

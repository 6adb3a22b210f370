"""Dify's built-in `math` provider: arithmetic over a parsed expression tree, never Python `eval`."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from kawa.tools.tool import BuiltinTool, ToolError, ToolOutput, object_schema

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
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


def _evaluate(node: ast.AST) -> float:
    """The value of an expression tree; an int where Python arithmetic gives one (`float` covers both)."""
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


MATH_TOOLS = (
    BuiltinTool(
        "math",
        "eval_expression",
        "Evaluate expression",
        "Evaluate an arithmetic expression.",
        object_schema({"expression": {"type": "string", "description": "e.g. (3 + 4) * 2 / sqrt(16)"}}, ["expression"]),
        eval_expression,
    ),
)

"""The operations of the variable-assigner node: each returns a new value (never mutates the old one)."""

from __future__ import annotations

from typing import Any, Final

from kawa.workflow.errors import NodeError

OPERATIONS: Final = frozenset(
    {
        "over-write",
        "clear",
        "append",
        "extend",
        "set",
        "+=",
        "-=",
        "*=",
        "/=",
        "remove-first",
        "remove-last",
    }
)
# Operations that take no input value.
NO_INPUT: Final = frozenset({"clear", "remove-first", "remove-last"})


class AssignerError(NodeError):
    pass


def value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "none"


def apply(operation: str, current: Any, value: Any, name: str) -> Any:
    kind = value_type(current)
    match operation:
        case "over-write" | "set":
            if kind != "none" and value is not None and not _compatible(kind, value):
                raise AssignerError(f"Cannot assign a {value_type(value)} to the {kind} variable {name}")
            return value
        case "clear":
            return {"string": "", "number": 0, "object": {}, "array": [], "boolean": False}.get(kind)
        case "append":
            _need(kind, "array", operation, name)
            return [*current, value]
        case "extend":
            _need(kind, "array", operation, name)
            if not isinstance(value, list):
                raise AssignerError(f"extend needs an array value for {name}")
            return [*current, *value]
        case "remove-first":
            _need(kind, "array", operation, name)
            return current[1:]
        case "remove-last":
            _need(kind, "array", operation, name)
            return current[:-1]
        case "+=" | "-=" | "*=" | "/=":
            _need(kind, "number", operation, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AssignerError(f"{operation} needs a number value for {name}")
            if operation == "+=":
                return current + value
            if operation == "-=":
                return current - value
            if operation == "*=":
                return current * value
            if value == 0:
                raise AssignerError(f"Division by zero when updating {name}")
            return current / value
    raise AssignerError(f"Unsupported operation: {operation}")


def _need(kind: str, wanted: str, operation: str, name: str) -> None:
    if kind != wanted:
        raise AssignerError(f"Operation {operation} is not supported for the {kind} variable {name}")


def _compatible(kind: str, value: Any) -> bool:
    return value_type(value) == kind

"""An app's input form (its start node's variables, or `user_input_form`) as the JSON schema of a tool's arguments:
what a workflow published as a tool and an app published over MCP ask their caller for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_FILE_TYPES = frozenset({"file", "file-list"})


def _property(variable: dict[str, Any]) -> dict[str, Any]:
    kind = variable.get("type", "text-input")
    described = str(variable.get("description") or variable.get("label") or variable.get("variable") or "")
    schema: dict[str, Any]
    if kind == "number":
        schema = {"type": "number"}
    elif kind == "checkbox":
        schema = {"type": "boolean"}
    elif kind == "json_object":
        schema = {"type": "object"}
    elif kind == "select":
        schema = {"type": "string", "enum": [str(o) for o in variable.get("options") or []]}
    else:
        schema = {"type": "string"}
        if isinstance(variable.get("max_length"), int) and variable["max_length"] > 0:
            schema["maxLength"] = variable["max_length"]
    if described:
        schema["description"] = described
    return schema


def input_schema(variables: Sequence[dict[str, Any]], *, query: bool = False) -> dict[str, Any]:
    """The object schema of the form's variables (file inputs left out: a tool caller cannot upload); with `query`,
    a required `query` string first (chat apps take the user's message)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    if query:
        properties["query"] = {"type": "string", "description": "The user's message."}
        required.append("query")
    for variable in variables:
        name = str(variable.get("variable") or "")
        if not name or variable.get("type") in _FILE_TYPES or name in properties:
            continue
        properties[name] = _property(variable)
        if variable.get("required"):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}

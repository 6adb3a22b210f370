"""How an agent offers a tool to a model and calls it: the definition leaves out the parameters the app fixed, and the
model's arguments (a JSON object, its text, or a bare value for a one-parameter tool) are merged with the fixed ones."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from kawa.models.types import ToolDefinition


def tool_definition(name: str, description: str, schema: Mapping[str, Any], fixed: Mapping[str, Any]) -> ToolDefinition:
    properties = {k: v for k, v in dict(schema.get("properties") or {}).items() if k not in fixed}
    required = [k for k in schema.get("required") or [] if k in properties]
    parameters = {"type": "object", "properties": properties, "required": required}
    return ToolDefinition(name=name, description=description, parameters=parameters)


def call_arguments(given: Any, definition: ToolDefinition, fixed: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(given, str):
        with contextlib.suppress(ValueError):
            given = json.loads(given)
    if not isinstance(given, Mapping):
        names = list(definition.parameters.get("properties") or {})
        given = {names[0]: given} if len(names) == 1 and given not in (None, "") else {}
    return {**given, **fixed}

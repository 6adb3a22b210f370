"""What a failed node leaves behind under the `default-value` and `fail-branch` error strategies."""

from __future__ import annotations

import json
from typing import Any

from kawa.workflow.nodes.base import NodeData


def error_text(error: BaseException) -> str:
    text = str(error)
    return text if text else type(error).__name__


def default_value(kind: str, value: Any) -> Any:
    """A `default_value` entry's value: strings are JSON-parsed for non-string types, as the editor stores them."""
    if kind == "string" or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def error_outputs(data: NodeData, message: str, error_type: str) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    if data.error_strategy == "default-value":
        outputs = {item.key: default_value(item.type, item.value) for item in data.default_value}
    outputs["error_message"] = message
    outputs["error_type"] = error_type
    return outputs

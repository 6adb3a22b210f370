"""What a failed node leaves behind under the `default-value` and `fail-branch` error strategies."""

from __future__ import annotations

import json
import logging
from typing import Any

from kawa.errors import client_message
from kawa.workflow.errors import NodeError, RunLimitExceeded
from kawa.workflow.nodes.base import NodeConfigError, NodeData

log = logging.getLogger("kawa.workflow")
_USERS_OWN = (NodeError, NodeConfigError, RunLimitExceeded, ValueError, ArithmeticError)
"""Errors whose text a node's user may read: raised about their own data, configuration, code or limits."""


def error_text(error: BaseException) -> str:
    """A failed node's `error`: its own text for node, configuration and value errors (the user's data and DSL, a
    code node's exception, an HTTP node's status); for anything else (a database, network or programming error) a
    generic message with the request id, the detail going to the server log."""
    return client_message(error, log=log, context="workflow node", shown=_USERS_OWN)


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

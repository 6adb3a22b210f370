"""Node payloads (inputs, process_data, outputs) cut to a size before they are streamed and stored, as Dify's
variable truncation does: a large value would otherwise be kept once per node that sees it (a 20 MB query: the
start node's outputs, the LLM's prompt, the answer's inputs...). The variable pool, the run's outputs and the
message keep the whole values; only the per-node trace is shortened, and its `*_truncated` flag says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ELLIPSIS = "..."


@dataclass(frozen=True, slots=True)
class PayloadLimits:
    """Dify's defaults: 1000 KB per payload; within a cut one, strings of at most 100000 characters and lists of at
    most 1000 items, smaller still when that is not enough."""

    max_bytes: int = 1_024_000
    string_length: int = 100_000
    array_length: int = 1_000


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def _shrink(value: Any, string_length: int, array_length: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= string_length else value[:string_length] + ELLIPSIS
    if isinstance(value, Mapping):
        return {key: _shrink(item, string_length, array_length) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shrink(item, string_length, array_length) for item in value[:array_length]]
    return value


def truncate_payload(payload: Mapping[str, Any] | None, limits: PayloadLimits) -> tuple[Mapping[str, Any] | None, bool]:
    """(payload, False) when it fits in `limits.max_bytes` as JSON; else a shortened copy and True."""
    if payload is None or _size(payload) <= limits.max_bytes:
        return payload, False
    string_length, array_length = limits.string_length, limits.array_length
    while True:
        shortened = _shrink(payload, string_length, array_length)
        if _size(shortened) <= limits.max_bytes or (string_length <= 16 and array_length <= 1):
            return shortened, True
        string_length, array_length = max(16, string_length // 4), max(1, array_length // 4)

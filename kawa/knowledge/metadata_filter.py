"""Metadata filters of retrieval: Dify's `metadata_filtering_conditions` evaluated against a document's metadata
(its custom fields plus the built-in ones: document_name, uploader, upload_date, last_update_date, source)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class MetadataCondition(BaseModel):
    name: str
    comparison_operator: str
    value: Any = None


class MetadataConditions(BaseModel):
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[MetadataCondition] = Field(default_factory=list)

    def matches(self, metadata: dict[str, Any]) -> bool:
        if not self.conditions:
            return True
        results = (condition_holds(c, metadata.get(c.name)) for c in self.conditions)
        return all(results) if self.logical_operator == "and" else any(results)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return _number(value)
    return None


def condition_holds(condition: MetadataCondition, actual: Any) -> bool:
    """One condition. A document without the field matches only `empty` (and the negative text operators)."""
    op = condition.comparison_operator.strip()
    expected = condition.value
    if op in ("empty", "is empty"):
        return actual is None or actual == ""
    if op in ("not empty", "is not empty"):
        return actual is not None and actual != ""
    if actual is None:
        return op in ("not contains", "is not", "≠", "!=", "not in")
    if op in ("before", "after"):
        a, e = _time(actual), _time(expected)
        if a is None or e is None:
            return False
        return a < e if op == "before" else a > e
    if op in ("=", "≠", "!=", ">", "<", "≥", ">=", "≤", "<="):
        a, e = _number(actual), _number(expected)
        if a is None or e is None:
            return op in ("≠", "!=")
        return {
            "=": a == e,
            "≠": a != e,
            "!=": a != e,
            ">": a > e,
            "<": a < e,
            "≥": a >= e,
            ">=": a >= e,
            "≤": a <= e,
            "<=": a <= e,
        }[op]
    if op in ("in", "not in"):
        options = expected if isinstance(expected, list) else [s.strip() for s in str(expected).split(",")]
        found = str(actual) in {str(o) for o in options}
        return found if op == "in" else not found
    text, wanted = str(actual), "" if expected is None else str(expected)
    if op == "contains":
        return wanted in text
    if op == "not contains":
        return wanted not in text
    if op == "start with":
        return text.startswith(wanted)
    if op == "end with":
        return text.endswith(wanted)
    if op == "is":
        return text == wanted
    if op == "is not":
        return text != wanted
    return False

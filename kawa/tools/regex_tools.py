"""Regex extraction (`langgenius/regex`): every match of a regular expression in a text, as Python's `re.findall`
lists them. Content and pattern sizes are capped (Python's `re` has no time limit)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kawa.tools.tool import BuiltinTool, ToolError, ToolOutput, object_schema, text_argument

MAX_CONTENT_CHARS = 1_000_000
MAX_PATTERN_CHARS = 1000


def regex_extract(args: Mapping[str, Any]) -> ToolOutput:
    content = text_argument(args, "content").strip()
    expression = text_argument(args, "expression").strip()
    if len(content) > MAX_CONTENT_CHARS or len(expression) > MAX_PATTERN_CHARS:
        raise ToolError(f"Content (max {MAX_CONTENT_CHARS}) or expression (max {MAX_PATTERN_CHARS}) too long.")
    try:
        found = re.findall(expression, content)
    except re.error as e:
        raise ToolError(f"Failed to extract result, error: {e}") from e
    return ToolOutput(str(found), [{"matches": found}])


REGEX_TOOLS = (
    BuiltinTool(
        "regex",
        "regex_extract",
        "Regex Extract",
        "Extract every match of a regular expression from a text.",
        object_schema({"content": {"type": "string"}, "expression": {"type": "string"}}, ["content", "expression"]),
        regex_extract,
    ),
)

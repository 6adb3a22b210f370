"""The catalogue of built-in tools, named as Dify's built-in providers name them (`time`, `math`), so that
exported apps find them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kawa.tools.math_tools import MATH_TOOLS
from kawa.tools.time_tools import TIME_TOOLS
from kawa.tools.tool import BuiltinTool

BUILTIN_TOOLS: Mapping[tuple[str, str], BuiltinTool] = MappingProxyType(
    {(t.provider, t.name): t for t in (*TIME_TOOLS, *MATH_TOOLS)}
)


def find_builtin_tool(provider: str, name: str) -> BuiltinTool | None:
    """By Dify provider id (`time`, `langgenius/time/time`) and tool name."""
    short = provider.strip().rstrip("/").rsplit("/", 1)[-1]
    return BUILTIN_TOOLS.get((short, name)) or BUILTIN_TOOLS.get(("math" if short == "maths" else short, name))

"""The catalogue of built-in tools, named as Dify's providers name them (`time`, `math`, `md_exporter`, `chart`...),
so that exported apps find them: a provider id matches by its last segment (`bowenliang123/md_exporter/md_exporter`
and `md_exporter` are the same provider)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kawa.tools.base64_codec import BASE64_TOOLS
from kawa.tools.charts import CHART_TOOLS
from kawa.tools.json_process import JSON_TOOLS
from kawa.tools.math_tools import MATH_TOOLS
from kawa.tools.md_exporter import MD_EXPORTER_TOOLS
from kawa.tools.mermaid import MERMAID_TOOLS
from kawa.tools.pdf_process import PDF_TOOLS
from kawa.tools.regex_tools import REGEX_TOOLS
from kawa.tools.time_tools import TIME_TOOLS
from kawa.tools.tool import BuiltinTool

BUILTIN_TOOLS: Mapping[tuple[str, str], BuiltinTool] = MappingProxyType(
    {
        (t.provider, t.name): t
        for t in (
            *TIME_TOOLS,
            *MATH_TOOLS,
            *MD_EXPORTER_TOOLS,
            *PDF_TOOLS,
            *BASE64_TOOLS,
            *JSON_TOOLS,
            *REGEX_TOOLS,
            *CHART_TOOLS,
            *MERMAID_TOOLS,
        )
    }
)
PROVIDER_ALIASES = MappingProxyType({"maths": "math"})


def provider_key(provider: str) -> str:
    """The catalogue's name of a Dify provider id (`langgenius/json_process/json_process` -> `json_process`)."""
    short = provider.strip().rstrip("/").rsplit("/", 1)[-1]
    return PROVIDER_ALIASES.get(short, short)


def find_builtin_tool(provider: str, name: str) -> BuiltinTool | None:
    """By Dify provider id (`time`, `langgenius/time/time`) and tool name."""
    return BUILTIN_TOOLS.get((provider_key(provider), name))


def provider_names() -> list[str]:
    return sorted({provider for provider, _ in BUILTIN_TOOLS})

"""The Mermaid converter (`hjlarry/mermaid_converter`), offline.

Dify's plugin sends the diagram to the mermaid.ink web service to get PNG/JPG/PDF/SVG. Rendering Mermaid needs
mermaid.js in a browser engine, which kawa does not ship, and kawa calls no outside service: so nothing renders
the diagram to an image here. The tool says so in its text and returns the source as a ```mermaid block (Dify's
chat UI and most Markdown viewers draw it) and as a `.mmd` file in `files`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kawa.tools.tool import BuiltinTool, ToolFile, ToolOutput, object_schema, text_argument

NOT_RENDERED = "Mermaid diagrams are not rendered to images by kawa (no offline renderer); the source is returned."


def mermaid_converter(args: Mapping[str, Any]) -> ToolOutput:
    source = text_argument(args, "mermaid_code").strip()
    if source.startswith("```"):
        source = source.strip("`").removeprefix("mermaid").strip()
    requested = str(args.get("output_format") or "png")
    return ToolOutput(
        f"{NOT_RENDERED}\n\n```mermaid\n{source}\n```",
        [{"rendered": False, "requested_format": requested, "mermaid_code": source}],
        [ToolFile(source.encode(), "diagram.mmd", "text/plain")],
    )


MERMAID_TOOLS = (
    BuiltinTool(
        "mermaid_converter",
        "mermaid_converter",
        "Mermaid Converter",
        "Return Mermaid diagram source (kawa does not render Mermaid to images).",
        object_schema(
            {
                "mermaid_code": {"type": "string", "description": "Mermaid diagram source"},
                "output_format": {"type": "string", "enum": ["png", "jpg", "pdf", "svg"]},
                "theme": {"type": "string"},
            },
            ["mermaid_code"],
        ),
        mermaid_converter,
    ),
)

"""What a built-in tool is: its Dify names, a JSON schema of its arguments for function calling, and a function
from arguments to `ToolOutput`; `ToolError` is a bad call whose message goes back to the user or model.

Tools that read files name those parameters in `file_parameters`: the caller (tool node, agent) turns the Dify
file values there into `InputFile`s before `invoke`. Files a tool produces come back as `ToolFile`s in
`ToolOutput.files`; the caller keeps them (Dify's `tool_file`) and hands out file values with signed URLs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class ToolError(Exception):
    """A tool could not do what it was asked (bad parameters); the message is shown to the user or model."""


@dataclass(frozen=True, slots=True)
class ToolFile:
    """A file a tool produced (Dify's blob message)."""

    content: bytes
    filename: str
    mime_type: str


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file given to a tool: the bytes of a Dify file value, resolved by the caller."""

    content: bytes
    filename: str
    mime_type: str


@dataclass(frozen=True, slots=True)
class ToolOutput:
    text: str
    json: list[dict[str, Any]] = field(default_factory=list)
    files: list[ToolFile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BuiltinTool:
    provider: str
    name: str
    label: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of the arguments, for function calling
    run: Callable[[Mapping[str, Any]], ToolOutput]
    file_parameters: frozenset[str] = frozenset()  # arguments that carry files (`InputFile` or a list of them)

    def invoke(self, arguments: Mapping[str, Any]) -> ToolOutput:
        return self.run(arguments)


def object_schema(properties: dict[str, Any], required: list[str]) -> Mapping[str, Any]:
    """The JSON schema of an arguments object (read-only: tools are shared by every request)."""
    return MappingProxyType({"type": "object", "properties": properties, "required": required})


def text_argument(args: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    """A string argument; a missing required one is a `ToolError` naming it, as Dify's tools word it."""
    value = args.get(name)
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if required and not text.strip():
        raise ToolError(f"Invalid parameter {name}")
    return text


def flag_argument(args: Mapping[str, Any], name: str, default: bool) -> bool:
    """A boolean argument given as a bool or as Dify's select values `"true"`/`"false"`."""
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "y")


def input_files(args: Mapping[str, Any], name: str) -> list[InputFile]:
    """The files of a file parameter (one or a list), resolved by the caller."""
    value = args.get(name)
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [item for item in items if isinstance(item, InputFile)]


def output_name(requested: str, default_stem: str, extension: str) -> str:
    """A file name for a produced file: the requested name (its extension added when missing) or a default."""
    stem = requested.strip().replace("/", "_").replace("\\", "_")
    if not stem:
        return f"{default_stem}.{extension}"
    return stem if stem.lower().endswith(f".{extension}") else f"{stem}.{extension}"

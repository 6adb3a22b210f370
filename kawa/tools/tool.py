"""What a built-in tool is: its Dify names, a JSON schema of its arguments for function calling, and a function
from arguments to `ToolOutput`; `ToolError` is a bad call whose message goes back to the user or model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class ToolError(Exception):
    """A tool could not do what it was asked (bad parameters); the message is shown to the user or model."""


@dataclass(frozen=True, slots=True)
class ToolOutput:
    text: str
    json: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BuiltinTool:
    provider: str
    name: str
    label: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of the arguments, for function calling
    run: Callable[[Mapping[str, Any]], ToolOutput]

    def invoke(self, arguments: Mapping[str, Any]) -> ToolOutput:
        return self.run(arguments)


def object_schema(properties: dict[str, Any], required: list[str]) -> Mapping[str, Any]:
    """The JSON schema of an arguments object (read-only: tools are shared by every request)."""
    return MappingProxyType({"type": "object", "properties": properties, "required": required})

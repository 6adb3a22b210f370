"""Tools that workflows (tool node) and agents call: built-in tools that run in-process and offline, described with
JSON schemas so that a model can call them; files in and out as `InputFile` / `ToolFile`."""

from kawa.tools.builtin import BUILTIN_TOOLS, find_builtin_tool, provider_key, provider_names
from kawa.tools.tool import BuiltinTool, InputFile, ToolError, ToolFile, ToolOutput

__all__ = [
    "BUILTIN_TOOLS",
    "BuiltinTool",
    "InputFile",
    "ToolError",
    "ToolFile",
    "ToolOutput",
    "find_builtin_tool",
    "provider_key",
    "provider_names",
]

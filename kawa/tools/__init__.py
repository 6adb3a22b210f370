"""Tools that workflows (tool node) and agents call: built-in tools that run in-process, described with JSON schemas
so that a model can call them."""

from kawa.tools.builtin import BUILTIN_TOOLS, find_builtin_tool
from kawa.tools.tool import BuiltinTool, ToolError, ToolOutput

__all__ = ["BUILTIN_TOOLS", "BuiltinTool", "ToolError", "ToolOutput", "find_builtin_tool"]

"""Files across the tool seam, for the tool and agent nodes: Dify file values among a tool's arguments become
`kawa.tools.InputFile`s (their bytes read as other nodes read files), and the `ToolFile`s a tool produced are kept
through `NodeServices.file_saver`, coming back as Dify file values (`transfer_method: tool_file`, signed URL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kawa.tools.tool import InputFile, ToolFile
from kawa.workflow.nodes.file_content import read_file_content
from kawa.workflow.ports import FileOwner
from kawa.workflow.runtime import NodeContext
from kawa.workflow.values import is_file


def _filename(file: Mapping[str, Any]) -> str:
    name = str(file.get("filename") or "file")
    extension = str(file.get("extension") or "")
    if extension and not name.lower().endswith(extension.lower()):
        name += extension if extension.startswith(".") else f".{extension}"
    return name


async def _input_file(ctx: NodeContext, file: Mapping[str, Any]) -> InputFile:
    content = await read_file_content(ctx, file)
    return InputFile(content, _filename(file), str(file.get("mime_type") or "application/octet-stream"))


async def resolve_file_arguments(ctx: NodeContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments with every file value (or list of file values) replaced by `InputFile`s."""
    resolved: dict[str, Any] = {}
    for name, value in arguments.items():
        if is_file(value):
            resolved[name] = await _input_file(ctx, value)
        elif isinstance(value, list) and value and all(is_file(item) for item in value):
            resolved[name] = [await _input_file(ctx, item) for item in value]
        else:
            resolved[name] = value
    return resolved


async def keep_tool_files(ctx: NodeContext, files: Sequence[ToolFile]) -> tuple[list[dict[str, Any]], str | None]:
    """The file values of the files a tool produced, and a note when no storage could keep them."""
    if not files:
        return [], None
    saver = ctx.services.file_saver
    if saver is None:
        return [], f"no file storage configured; {len(files)} file(s) the tool produced were not kept"
    system = ctx.pool.system
    owner = FileOwner(app_id=str(system.get("app_id") or ""), user_id=str(system.get("user_id") or ""))
    kept = [await saver.save(f.content, filename=f.filename, mime_type=f.mime_type, owner=owner) for f in files]
    return kept, None

"""The `document-extractor` node: a file (or array of files) -> its text (or an array of texts).

Bytes come from `NodeServices.file_reader` (uploads) or the SSRF-guarded client (remote URLs); parsing runs in a
thread (`kawa.files.extract.extract_text`), since PDF and office parsers block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from kawa.files.extract import extract_text
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.nodes.file_content import read_file_content
from kawa.workflow.runtime import NodeContext
from kawa.workflow.values import is_file
from kawa.workflow.variable_pool import MISSING


class DocumentExtractorError(NodeError):
    pass


class DocumentExtractorData(NodeData):
    variable_selector: list[str] = Field(default_factory=list)
    is_array_file: bool = False


class DocumentExtractorNode(Node[DocumentExtractorData]):
    node_type = "document-extractor"
    data_model = DocumentExtractorData

    async def run(self, ctx: NodeContext) -> NodeResult:
        selector = self.data.variable_selector
        value = ctx.pool.resolve(selector)
        inputs = {"variable_selector": selector}
        if value is MISSING:
            raise DocumentExtractorError(f"File variable not found for selector: {selector}")
        if isinstance(value, list):
            if not all(is_file(item) for item in value):
                raise DocumentExtractorError(f"Variable {selector} is not an array of files")
            texts = [await self._extract(ctx, item) for item in value]
            return NodeResult(inputs=inputs, outputs={"text": texts}, process_data={"documents": _names(value)})
        if value is None:
            return NodeResult(inputs=inputs, outputs={"text": ""}, process_data={"documents": []})
        if not is_file(value):
            raise DocumentExtractorError(f"Variable {selector} is not a file")
        text = await self._extract(ctx, value)
        return NodeResult(inputs=inputs, outputs={"text": text}, process_data={"documents": _names([value])})

    async def _extract(self, ctx: NodeContext, file: Mapping[str, Any]) -> str:
        filename = str(file.get("filename") or "")
        extension = str(file.get("extension") or "")
        if extension and not filename.lower().endswith(extension.lower()):
            filename = f"{filename or 'file'}{extension if extension.startswith('.') else '.' + extension}"
        mime_type = file.get("mime_type")
        data = await read_file_content(ctx, file)
        # TextExtractionError / UnsupportedFileTypeError propagate: their class names are the node's error_type.
        return await asyncio.to_thread(
            extract_text, data, filename=filename, mime_type=str(mime_type) if mime_type else None
        )


def _names(files: list[Any]) -> list[str]:
    return [str(file.get("filename") or "") for file in files]

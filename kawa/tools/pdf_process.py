"""PDF tools (provider `pdf_process`) with pypdf and pdfium: the text of a PDF, its page count and metadata,
chosen pages as a new PDF, one PDF per page, several PDFs merged into one, and pages as PNG images.

The marketplace's PDF plugins differ in tool names; kawa offers these names, and exports whose tools are named
otherwise are listed by `kawa app import` as not runnable.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from kawa.tools.pdf_rendering import pdf_to_pngs
from kawa.tools.tool import (
    BuiltinTool,
    InputFile,
    ToolError,
    ToolFile,
    ToolOutput,
    input_files,
    object_schema,
    output_name,
    text_argument,
)

PROVIDER = "pdf_process"
MAX_PAGES = 2000


def _pdfs(args: Mapping[str, Any], name: str = "file") -> list[InputFile]:
    files = input_files(args, name)
    if not files:
        raise ToolError(f"Invalid parameter {name}: give a PDF file.")
    return files


def _reader(file: InputFile) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(file.content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ToolError(f"{file.filename} is encrypted.")
        if len(reader.pages) > MAX_PAGES:
            raise ToolError(f"{file.filename} has more than {MAX_PAGES} pages.")
        return reader
    except (PdfReadError, ValueError, OSError) as e:
        raise ToolError(f"{file.filename} is not a readable PDF: {e}") from e


def page_numbers(spec: str, count: int) -> list[int]:
    """0-based page indexes of a 1-based spec like `1-3,5` (empty: every page)."""
    if not spec.strip():
        return list(range(count))
    pages: list[int] = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            start, end = int(first), int(last) if last else int(first)
        except ValueError as e:
            raise ToolError(f"Invalid page range {part!r}: use e.g. 1-3,5") from e
        if start < 1 or end > count or start > end:
            raise ToolError(f"Page range {part} is outside 1-{count}.")
        pages += range(start - 1, end)
    return pages


def _written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def extract_text(args: Mapping[str, Any]) -> ToolOutput:
    texts, records = [], []
    for file in _pdfs(args):
        reader = _reader(file)
        pages = page_numbers(text_argument(args, "pages", required=False), len(reader.pages))
        page_texts = [reader.pages[i].extract_text() or "" for i in pages]
        texts.append("\n\n".join(page_texts))
        records.append(
            {
                "filename": file.filename,
                "pages": [{"page": i + 1, "text": t} for i, t in zip(pages, page_texts, strict=True)],
            }
        )
    return ToolOutput("\n\n".join(texts), records)


def pdf_info(args: Mapping[str, Any]) -> ToolOutput:
    records = []
    for file in _pdfs(args):
        reader = _reader(file)
        metadata = {str(k).lstrip("/"): str(v) for k, v in (reader.metadata or {}).items()}
        records.append({"filename": file.filename, "page_count": len(reader.pages), "metadata": metadata})
    text = "\n".join(f"{r['filename']}: {r['page_count']} pages" for r in records)
    return ToolOutput(text, records)


def extract_pages(args: Mapping[str, Any]) -> ToolOutput:
    file = _pdfs(args)[0]
    reader = _reader(file)
    writer = PdfWriter()
    for index in page_numbers(text_argument(args, "pages"), len(reader.pages)):
        writer.add_page(reader.pages[index])
    name = output_name(text_argument(args, "output_filename", required=False), "pages", "pdf")
    return ToolOutput(
        f"{len(writer.pages)} pages extracted.", files=[ToolFile(_written(writer), name, "application/pdf")]
    )


def split_pdf(args: Mapping[str, Any]) -> ToolOutput:
    file = _pdfs(args)[0]
    reader = _reader(file)
    stem = file.filename.rsplit(".", 1)[0] or "page"
    files = []
    for index, page in enumerate(reader.pages, start=1):
        writer = PdfWriter()
        writer.add_page(page)
        files.append(ToolFile(_written(writer), f"{stem}_{index}.pdf", "application/pdf"))
    return ToolOutput(f"Split into {len(files)} files.", files=files)


def merge_pdfs(args: Mapping[str, Any]) -> ToolOutput:
    writer = PdfWriter()
    for file in _pdfs(args, "files"):
        for page in _reader(file).pages:
            writer.add_page(page)
    name = output_name(text_argument(args, "output_filename", required=False), "merged", "pdf")
    return ToolOutput(f"Merged {len(writer.pages)} pages.", files=[ToolFile(_written(writer), name, "application/pdf")])


def pdf_to_images(args: Mapping[str, Any]) -> ToolOutput:
    files = []
    for file in _pdfs(args):
        stem = file.filename.rsplit(".", 1)[0] or "page"
        images = pdf_to_pngs(file.content)
        files += [ToolFile(png, f"{stem}_{i}.png", "image/png") for i, png in enumerate(images, start=1)]
    return ToolOutput(f"{len(files)} page images.", files=files)


_FILE = {"type": "string", "description": "PDF file"}
_PAGES = {"type": "string", "description": "1-based pages, e.g. 1-3,5 (empty: all)"}
_S = {"type": "string"}


def _tool(
    name: str, label: str, run: Callable[[Mapping[str, Any]], ToolOutput], props: dict[str, Any], required: list[str]
) -> BuiltinTool:
    files = frozenset(k for k in props if k in ("file", "files"))
    return BuiltinTool(PROVIDER, name, label, f"{label}.", object_schema(props, required), run, files)


PDF_TOOLS = (
    _tool("extract_text", "Extract text from PDF", extract_text, {"file": _FILE, "pages": _PAGES}, ["file"]),
    _tool("pdf_info", "PDF page count and metadata", pdf_info, {"file": _FILE}, ["file"]),
    _tool(
        "extract_pages",
        "Extract PDF pages",
        extract_pages,
        {"file": _FILE, "pages": _PAGES, "output_filename": _S},
        ["file", "pages"],
    ),
    _tool("split_pdf", "Split PDF into pages", split_pdf, {"file": _FILE}, ["file"]),
    _tool(
        "merge_pdfs",
        "Merge PDFs",
        merge_pdfs,
        {"files": {"type": "array", "items": _FILE}, "output_filename": _S},
        ["files"],
    ),
    _tool("pdf_to_images", "PDF pages to PNG images", pdf_to_images, {"file": _FILE}, ["file"]),
)

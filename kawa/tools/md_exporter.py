"""The Markdown exporter (`bowenliang123/md_exporter`, the most used tool plugin of Dify exports), offline.

Same tool names and parameters (`md_text`, `output_filename`, `force_text_value`, `output_style`, `is_compress`):
Word, PowerPoint, PDF, PNG pages, HTML (file or text), Markdown, XML, LaTeX, a Jupyter notebook, the text's tables
as Excel, CSV or JSON (lines or array), and its code blocks as files. Templates (`docx_template_file`,
`pptx_template_file`) are not applied: kawa's default styles are used.
"""

from __future__ import annotations

import csv
import html
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

from kawa.tools.latex_document import latex_document
from kawa.tools.markdown_blocks import CodeBlock, Table, parse_blocks, render_html, tables_of, unwrap
from kawa.tools.office_documents import cell_value, write_docx, write_pptx, write_xlsx
from kawa.tools.pdf_rendering import markdown_to_pdf, pdf_to_pngs
from kawa.tools.tool import (
    BuiltinTool,
    ToolError,
    ToolFile,
    ToolOutput,
    flag_argument,
    object_schema,
    output_name,
    text_argument,
)

PROVIDER = "md_exporter"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CODE_FILES: dict[str, tuple[str, str]] = {
    "python": ("py", "text/x-python"),
    "py": ("py", "text/x-python"),
    "javascript": ("js", "text/javascript"),
    "js": ("js", "text/javascript"),
    "typescript": ("ts", "text/plain"),
    "bash": ("sh", "application/x-sh"),
    "sh": ("sh", "application/x-sh"),
    "shell": ("sh", "application/x-sh"),
    "json": ("json", "application/json"),
    "yaml": ("yaml", "text/yaml"),
    "html": ("html", "text/html"),
    "css": ("css", "text/css"),
    "sql": ("sql", "text/plain"),
    "java": ("java", "text/x-java-source"),
    "go": ("go", "text/plain"),
    "rust": ("rs", "text/plain"),
    "xml": ("xml", "text/xml"),
    "csv": ("csv", "text/csv"),
    "markdown": ("md", "text/markdown"),
    "svg": ("svg", "image/svg+xml"),
}
HTML_PAGE = (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
    "<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.5}}"
    "table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px}}"
    "pre{{background:#f4f4f4;padding:8px;overflow:auto}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
)


def _markdown(args: Mapping[str, Any]) -> str:
    return text_argument(args, "md_text")


def _one(args: Mapping[str, Any], content: bytes, stem: str, extension: str, mime_type: str) -> ToolOutput:
    name = output_name(text_argument(args, "output_filename", required=False), stem, extension)
    return ToolOutput("", files=[ToolFile(content, name, mime_type)])


def _numbered(args: Mapping[str, Any], contents: list[bytes], stem: str, extension: str, mime: str) -> ToolOutput:
    """Several files of one kind: `name_1.ext`, `name_2.ext`... (one file keeps the plain name)."""
    requested = text_argument(args, "output_filename", required=False).strip()
    base = requested.removesuffix(f".{extension}") if requested else stem
    if len(contents) == 1:
        return ToolOutput("", files=[ToolFile(contents[0], output_name(base, stem, extension), mime)])
    files = [ToolFile(c, f"{base}_{i}.{extension}", mime) for i, c in enumerate(contents, start=1)]
    return ToolOutput("", files=files)


def _zipped(files: list[ToolFile], name: str) -> ToolFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.writestr(file.filename, file.content)
    return ToolFile(buffer.getvalue(), name, "application/zip")


def _tables(args: Mapping[str, Any]) -> list[Table]:
    tables = tables_of(_markdown(args))
    if not tables:
        raise ToolError("No Markdown table found in the text.")
    return tables


def md_to_docx(args: Mapping[str, Any]) -> ToolOutput:
    return _one(args, write_docx(parse_blocks(_markdown(args))), "output", "docx", DOCX)


def md_to_pptx(args: Mapping[str, Any]) -> ToolOutput:
    return _one(args, write_pptx(parse_blocks(_markdown(args))), "output", "pptx", PPTX)


def md_to_xlsx(args: Mapping[str, Any]) -> ToolOutput:
    content = write_xlsx(tables_of(_markdown(args)), flag_argument(args, "force_text_value", True))
    return _one(args, content, "output", "xlsx", XLSX)


def md_to_pdf(args: Mapping[str, Any]) -> ToolOutput:
    return _one(args, markdown_to_pdf(_markdown(args)), "output", "pdf", "application/pdf")


def md_to_png(args: Mapping[str, Any]) -> ToolOutput:
    pages = pdf_to_pngs(markdown_to_pdf(_markdown(args)))
    output = _numbered(args, pages, "output", "png", "image/png")
    if flag_argument(args, "is_compress", False):
        stem = text_argument(args, "output_filename", required=False).strip() or "output"
        return ToolOutput("", files=[_zipped(output.files, output_name(stem.removesuffix(".png"), "output", "zip"))])
    return output


def md_to_html(args: Mapping[str, Any]) -> ToolOutput:
    markdown = _markdown(args)
    blocks = parse_blocks(markdown)
    title = next((b for b in blocks if not isinstance(b, Table | CodeBlock)), None)
    page = HTML_PAGE.format(title=html.escape(_title_of(title)), body=render_html(markdown))
    return _one(args, page.encode(), "output", "html", "text/html")


def _title_of(block: object) -> str:
    runs = getattr(block, "runs", ())
    return "".join(run.text for run in runs)[:80] or "Document"


def md_to_html_text(args: Mapping[str, Any]) -> ToolOutput:
    return ToolOutput(render_html(_markdown(args)))


def md_to_md(args: Mapping[str, Any]) -> ToolOutput:
    return _one(args, unwrap(_markdown(args)).encode(), "output", "md", "text/markdown")


def md_to_csv(args: Mapping[str, Any]) -> ToolOutput:
    contents = []
    for table in _tables(args):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(table.header)
        writer.writerows(table.rows)
        contents.append(buffer.getvalue().encode("utf-8-sig"))  # the BOM makes Excel read UTF-8
    return _numbered(args, contents, "output", "csv", "text/csv")


def md_to_json(args: Mapping[str, Any]) -> ToolOutput:
    style = text_argument(args, "output_style", required=False) or "jsonl"
    contents = []
    for table in _tables(args):
        records = [dict(zip(table.header, (cell_value(c, False) for c in row), strict=False)) for row in table.rows]
        if style == "json_array":
            text = json.dumps(records, ensure_ascii=False)
        else:
            text = "\n".join(json.dumps(record, ensure_ascii=False) for record in records)
        contents.append(text.encode())
    extension = "json" if style == "json_array" else "jsonl"
    return _numbered(args, contents, "output", extension, "application/json")


def md_to_xml(args: Mapping[str, Any]) -> ToolOutput:
    body = render_html(_markdown(args)).replace("<br>", "<br/>").replace("<hr>", "<hr/>")
    document = f'<?xml version="1.0" encoding="UTF-8"?>\n<div>\n{body}</div>\n'
    return _one(args, document.encode(), "output", "xml", "application/xml")


def md_to_latex(args: Mapping[str, Any]) -> ToolOutput:
    return _one(args, latex_document(parse_blocks(_markdown(args))).encode(), "output", "tex", "application/x-tex")


def md_to_ipynb(args: Mapping[str, Any]) -> ToolOutput:
    """Code blocks become code cells, the text between them markdown cells."""
    cells: list[dict[str, Any]] = []
    text: list[str] = []
    lines = unwrap(_markdown(args)).splitlines(keepends=True)
    code: list[str] | None = None
    for line in lines:
        if line.lstrip().startswith("```"):
            if code is None:
                if "".join(text).strip():
                    cells.append({"cell_type": "markdown", "metadata": {}, "source": text})
                text, code = [], []
            else:
                cells.append(
                    {"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None}
                )
                code = None
        elif code is not None:
            code.append(line)
        else:
            text.append(line)
    if "".join(text).strip():
        cells.append({"cell_type": "markdown", "metadata": {}, "source": text})
    notebook = {
        "cells": cells,
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return _one(
        args, json.dumps(notebook, ensure_ascii=False, indent=1).encode(), "output", "ipynb", "application/json"
    )


def md_to_codeblock(args: Mapping[str, Any]) -> ToolOutput:
    blocks = [b for b in parse_blocks(_markdown(args)) if isinstance(b, CodeBlock)]
    if not blocks:
        raise ToolError("No code block found in the Markdown text.")
    requested = text_argument(args, "output_filename", required=False).strip()
    files = []
    for index, block in enumerate(blocks, start=1):
        extension, mime = CODE_FILES.get(block.language.lower(), ("txt", "text/plain"))
        stem = f"{requested or 'code'}_{index}" if len(blocks) > 1 else requested or "code"
        files.append(ToolFile(block.text.encode(), output_name(stem, "code", extension), mime))
    if flag_argument(args, "is_compress", False):
        return ToolOutput("", files=[_zipped(files, output_name(requested or "code_blocks", "code_blocks", "zip"))])
    return ToolOutput("", files=files)


_TEXT = {"type": "string", "description": "Markdown text"}
_NAME = {"type": "string", "description": "Output file name (optional)"}


def _tool(name: str, label: str, run: Callable[[Mapping[str, Any]], ToolOutput], **extra: Any) -> BuiltinTool:
    properties = {"md_text": _TEXT, **({} if name == "md_to_html_text" else {"output_filename": _NAME}), **extra}
    description = f"Export Markdown text to {label}."
    return BuiltinTool(PROVIDER, name, f"Markdown to {label}", description, object_schema(properties, ["md_text"]), run)


_CHOICE = {"type": "string", "enum": ["true", "false"]}
MD_EXPORTER_TOOLS = (
    _tool("md_to_docx", "DOCX", md_to_docx),
    _tool("md_to_pptx", "PPTX", md_to_pptx),
    _tool("md_to_xlsx", "XLSX", md_to_xlsx, force_text_value=_CHOICE),
    _tool("md_to_pdf", "PDF", md_to_pdf),
    _tool("md_to_png", "PNG", md_to_png, is_compress=_CHOICE),
    _tool("md_to_html", "HTML", md_to_html),
    _tool("md_to_html_text", "HTML text", md_to_html_text),
    _tool("md_to_md", "MD", md_to_md),
    _tool("md_to_csv", "CSV", md_to_csv),
    _tool("md_to_json", "JSON", md_to_json, output_style={"type": "string", "enum": ["jsonl", "json_array"]}),
    _tool("md_to_xml", "XML", md_to_xml),
    _tool("md_to_ipynb", "IPYNB", md_to_ipynb),
    _tool("md_to_latex", "LaTeX", md_to_latex),
    _tool("md_to_codeblock", "code block files", md_to_codeblock, is_compress=_CHOICE),
)

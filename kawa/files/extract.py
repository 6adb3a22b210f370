"""Text extraction for the document-extractor node: bytes of an uploaded document -> plain text.

`extract_text` is blocking (call it through `asyncio.to_thread`). The format is chosen by the file name's extension,
else by the MIME type. Tables (csv, xlsx/xls, docx and pptx tables) come out as markdown tables, as Dify's do;
json and yaml are re-serialised readably; html, epub and e-mail come out as text without markup.
Parsers: pypdf, python-docx, openpyxl, xlrd (legacy .xls), python-pptx, PyYAML; the rest is the stdlib.
"""

from __future__ import annotations

import csv
import datetime
import email
import email.policy
import io
import json
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from email.message import EmailMessage
from typing import Any
from xml.etree import ElementTree

from kawa.errors import TextExtractionError, UnsupportedFileTypeError
from kawa.files.html_text import html_to_text

# The errors are defined in kawa.errors (shared with uploads); re-exported because they are part of this API.
__all__ = ["TextExtractionError", "UnsupportedFileTypeError", "extract_text"]


def extract_text(data: bytes, *, filename: str, mime_type: str | None) -> str:
    """The text of a document. Raises `UnsupportedFileTypeError` or `TextExtractionError`."""
    extension = posixpath.splitext(filename.lower())[1].lstrip(".")
    extractor = _BY_EXTENSION.get(extension)
    if extractor is None and mime_type:
        extractor = _BY_MIME.get(mime_type.split(";", 1)[0].strip().lower())
    if extractor is None:
        if extension:
            raise UnsupportedFileTypeError(f"Unsupported Extension Type: .{extension}")
        if mime_type:
            raise UnsupportedFileTypeError(f"Unsupported MIME type: {mime_type}")
        raise UnsupportedFileTypeError("Unable to determine file type: no extension and no MIME type")
    try:
        return extractor(data)
    except TextExtractionError:
        raise
    except Exception as exc:  # every parser has its own exception types: report them uniformly
        label = extension.upper() or (mime_type or "document")
        raise TextExtractionError(f"Failed to extract text from {label}: {exc}") from exc


# -- plain text and structured text ------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else the encoding charset-normalizer detects."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    detected = _detect_encoding(data)
    if detected is not None:
        return detected
    raise TextExtractionError("Failed to decode plain text file")


def _detect_encoding(data: bytes) -> str | None:
    try:
        import charset_normalizer
    except ImportError:  # pragma: no cover - an optional dependency: without it, only UTF-8 is read
        return None
    best = charset_normalizer.from_bytes(data).best()
    return str(best) if best is not None else None


def _plain(data: bytes) -> str:
    return decode_text(data)


def _json(data: bytes) -> str:
    try:
        return json.dumps(json.loads(decode_text(data)), indent=2, ensure_ascii=False)
    except json.JSONDecodeError as exc:
        raise TextExtractionError(f"Failed to decode or parse JSON file: {exc}") from exc


def _yaml(data: bytes) -> str:
    import yaml

    try:
        documents = list(yaml.safe_load_all(decode_text(data)))
    except yaml.YAMLError as exc:
        raise TextExtractionError(f"Failed to decode or parse YAML file: {exc}") from exc
    return str(yaml.dump_all(documents, allow_unicode=True, sort_keys=False))


def _properties(data: bytes) -> str:
    lines: list[str] = []
    pending = ""
    for raw in decode_text(data).splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        match = re.match(r"((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)", line)
        key, value = (match.group(1), match.group(2)) if match else (line, "")
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


_VTT_TIMING = re.compile(r"^\s*(\d+:)?\d+:\d+[.,]\d+\s+-->\s+")


def _vtt(data: bytes) -> str:
    """Cue texts in order; consecutive cues of one `<v Speaker>` are merged onto one line."""
    entries: list[tuple[str, str]] = []
    blocks = re.split(r"\n\s*\n", decode_text(data).replace("\r\n", "\n"))
    for block in blocks:
        lines = block.strip().split("\n")
        if not lines or lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing = next((i for i, line in enumerate(lines) if _VTT_TIMING.match(line)), None)
        if timing is None:
            continue
        text = " ".join(lines[timing + 1 :]).strip()
        speaker_match = re.match(r"<v(?:\.[^ >]+)?\s+([^>]+)>", text)
        speaker = speaker_match.group(1).strip() if speaker_match else ""
        text = re.sub(r"<[^>]+>", "", text).strip()
        if not text:
            continue
        if entries and entries[-1][0] == speaker:
            entries[-1] = (speaker, f"{entries[-1][1]} {text}")
        else:
            entries.append((speaker, text))
    return "\n".join(f'{speaker} "{text}"' if speaker else text for speaker, text in entries)


# -- html, epub, e-mail --------------------------------------------------------------------------------------


def _html(data: bytes) -> str:
    return html_to_text(decode_text(data))


def _epub(data: bytes) -> str:
    """Chapters in spine order (EPUB 2 and 3), read straight from the zip: container.xml -> OPF -> spine."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        container = ElementTree.fromstring(book.read("META-INF/container.xml"))
        rootfile = next((el.get("full-path") for el in container.iter() if el.tag.endswith("rootfile")), None)
        if not rootfile:
            raise TextExtractionError("Failed to extract text from EPUB: no rootfile in META-INF/container.xml")
        opf = ElementTree.fromstring(book.read(rootfile))
        base = posixpath.dirname(rootfile)
        manifest = {el.get("id"): el.get("href") for el in opf.iter() if el.tag.endswith("}item")}
        spine = [el.get("idref") for el in opf.iter() if el.tag.endswith("}itemref")]
        chapters: list[str] = []
        for idref in spine:
            href = manifest.get(idref)
            if not href:
                continue
            path = posixpath.normpath(posixpath.join(base, href.split("#", 1)[0]))
            text = html_to_text(decode_text(book.read(path)))
            if text:
                chapters.append(text)
    return "\n\n".join(chapters)


def _eml(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    lines = [f"{name}: {message[name]}" for name in ("Subject", "From", "To", "Cc", "Date") if message[name]]
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = html_to_text(content) if body.get_content_subtype() == "html" else str(content)
    attachments = [part.get_filename() for part in message.iter_attachments() if part.get_filename()]
    if attachments:
        lines.append("Attachments: " + ", ".join(str(name) for name in attachments))
    return "\n".join(lines) + "\n\n" + text.strip()


# -- tables ------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime.datetime | datetime.date | datetime.time):
        value = value.isoformat()
    return str(value).replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").strip()


def markdown_table(rows: Iterable[Sequence[Any]]) -> str:
    """The first row is the header. Rows are padded to the widest; empty rows are dropped."""
    cells = [[_cell(value) for value in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    padded = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(padded[0]) + " |", "| " + " | ".join(["---"] * width) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in padded[1:]]
    return "\n".join(lines)


def _csv(data: bytes) -> str:
    text = decode_text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return markdown_table(csv.reader(io.StringIO(text), dialect))


def _sheets_to_markdown(sheets: list[tuple[str, list[Sequence[Any]]]]) -> str:
    tables = [(name, markdown_table(rows)) for name, rows in sheets]
    tables = [(name, table) for name, table in tables if table]
    if len(tables) == 1:
        return tables[0][1]
    return "\n\n".join(f"## {name}\n\n{table}" for name, table in tables)


def _xlsx(data: bytes) -> str:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets: list[tuple[str, list[Sequence[Any]]]] = [
            (str(sheet.title), [list(row) for row in sheet.iter_rows(values_only=True)])
            for sheet in workbook.worksheets
        ]
    finally:
        workbook.close()
    return _sheets_to_markdown(sheets)


def _xls(data: bytes) -> str:
    import xlrd

    book = xlrd.open_workbook(file_contents=data)
    sheets: list[tuple[str, list[Sequence[Any]]]] = []
    for sheet in book.sheets():
        rows: list[Sequence[Any]] = []
        for r in range(sheet.nrows):
            row: list[Any] = []
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                else:
                    row.append(cell.value)
            rows.append(row)
        sheets.append((str(sheet.name), rows))
    return _sheets_to_markdown(sheets)


# -- office documents and pdf --------------------------------------------------------------------------------


def _docx(data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            blocks.append(item.text)
        elif isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            blocks.append(markdown_table(rows))
    return "\n".join(blocks)


def _pptx(data: bytes) -> str:
    from pptx import Presentation

    presentation = Presentation(io.BytesIO(data))
    slides: list[str] = []
    for slide in presentation.slides:
        parts: list[str] = []
        for shape in slide.shapes:
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                parts.append(markdown_table(rows))
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                text = shape.text_frame.text.strip()
                if text:
                    parts.append(text)
        if parts:
            slides.append("\n".join(parts))
    return "\n\n".join(slides)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise TextExtractionError("Failed to extract text from PDF: the document is encrypted")
    return "\n".join((page.extract_text() or "") for page in reader.pages)


_BY_EXTENSION: dict[str, Callable[[bytes], str]] = {
    "txt": _plain,
    "md": _plain,
    "markdown": _plain,
    "mdx": _plain,
    "xml": _plain,
    "html": _html,
    "htm": _html,
    "json": _json,
    "yaml": _yaml,
    "yml": _yaml,
    "csv": _csv,
    "xlsx": _xlsx,
    "xls": _xls,
    "docx": _docx,
    "pptx": _pptx,
    "pdf": _pdf,
    "eml": _eml,
    "epub": _epub,
    "vtt": _vtt,
    "properties": _properties,
}

_BY_MIME: dict[str, Callable[[bytes], str]] = {
    "text/plain": _plain,
    "text/markdown": _plain,
    "text/x-markdown": _plain,
    "text/xml": _plain,
    "application/xml": _plain,
    "text/html": _html,
    "application/json": _json,
    "application/yaml": _yaml,
    "application/x-yaml": _yaml,
    "text/yaml": _yaml,
    "text/x-yaml": _yaml,
    "text/csv": _csv,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _xlsx,
    "application/vnd.ms-excel": _xls,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _docx,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _pptx,
    "application/pdf": _pdf,
    "message/rfc822": _eml,
    "application/epub+zip": _epub,
    "text/vtt": _vtt,
    "text/x-java-properties": _properties,
}

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_BY_EXTENSION)

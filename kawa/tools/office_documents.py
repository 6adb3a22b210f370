"""Markdown blocks written as Office files: Word (python-docx), PowerPoint (python-pptx) and Excel (openpyxl).

Word keeps every block (headings, styled runs, nested lists, code, quotes, tables). PowerPoint starts a slide at
every `#`/`##` heading, as Dify's exporter does, with the blocks below it as bullets and each table on a slide of
its own. Excel writes one sheet per table.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kawa.tools.markdown_blocks import (
    Block,
    CodeBlock,
    Heading,
    ListItem,
    Paragraph,
    Quote,
    Rule,
    Run,
    Table,
    plain,
)
from kawa.tools.tool import ToolError

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.text.paragraph import Paragraph as DocxParagraph

MONOSPACE = "Courier New"
# Slide body text that does not fit is continued on a new slide with the same title.
MAX_SLIDE_LINES = 12


def _docx_runs(paragraph: DocxParagraph, runs: Sequence[Run]) -> None:
    for item in runs:
        run = paragraph.add_run(item.text)
        run.bold = item.bold or None
        run.italic = item.italic or None
        run.font.strike = item.strike or None
        if item.code:
            run.font.name = MONOSPACE


def write_docx(blocks: Sequence[Block]) -> bytes:
    from docx import Document  # the Office writers load only when a document is written

    document = Document()
    for block in blocks:
        if isinstance(block, Heading):
            _docx_runs(document.add_heading("", level=min(block.level, 9)), block.runs)
        elif isinstance(block, Paragraph):
            _docx_runs(document.add_paragraph(), block.runs)
        elif isinstance(block, ListItem):
            style = "List Number" if block.number is not None else "List Bullet"
            depth = min(block.depth, 2)
            _docx_runs(document.add_paragraph(style=style if depth == 0 else f"{style} {depth + 1}"), block.runs)
        elif isinstance(block, Quote):
            _docx_runs(document.add_paragraph(style="Quote"), block.runs)
        elif isinstance(block, CodeBlock):
            run = document.add_paragraph().add_run(block.text.rstrip("\n"))
            run.font.name = MONOSPACE
        elif isinstance(block, Rule):
            document.add_paragraph("_" * 40)
        elif isinstance(block, Table):
            _docx_table(document, block)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_table(document: DocxDocument, table: Table) -> None:
    width = max(len(table.header), 1)
    grid = document.add_table(rows=1 + len(table.rows), cols=width)
    grid.style = "Table Grid"
    for column, text in enumerate(table.header):
        cell = grid.rows[0].cells[column]
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for row_index, row in enumerate(table.rows, start=1):
        for column, text in enumerate(row[:width]):
            grid.rows[row_index].cells[column].text = text


def _slide_lines(blocks: Sequence[Block]) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    for block in blocks:
        if isinstance(block, ListItem):
            prefix = f"{block.number}. " if block.number is not None else ""
            lines.append((min(block.depth, 4), prefix + plain(block.runs)))
        elif isinstance(block, Paragraph | Quote | Heading):
            lines.append((0, plain(block.runs)))
        elif isinstance(block, CodeBlock):
            lines += [(1, line) for line in block.text.rstrip("\n").splitlines()]
    return lines


def _sections(blocks: Sequence[Block]) -> list[tuple[str, list[Block]]]:
    """(title, blocks) per slide: `#` and `##` headings start one; tables get their own."""
    sections: list[tuple[str, list[Block]]] = []
    title = ""
    for block in blocks:
        if isinstance(block, Heading) and block.level <= 2:
            title = plain(block.runs)
            sections.append((title, []))
        elif isinstance(block, Table):
            sections.append((title, [block]))
            sections.append((title, []))
        elif not sections:
            sections.append(("", [block]))
        else:
            sections[-1][1].append(block)
    return [(t, b) for t, b in sections if t or b] or [("", [])]


def write_pptx(blocks: Sequence[Block]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for title, section in _sections(blocks):
        tables = [b for b in section if isinstance(b, Table)]
        if tables:
            slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
            slide.shapes.title.text = title
            table = tables[0]
            width = max(len(table.header), 1)
            shape = slide.shapes.add_table(1 + len(table.rows), width, Inches(0.5), Inches(1.5), Inches(9), Inches(5))
            for column, text in enumerate(table.header):
                shape.table.cell(0, column).text = text
            for row_index, row in enumerate(table.rows, start=1):
                for column, text in enumerate(row[:width]):
                    shape.table.cell(row_index, column).text = text
            continue
        lines = _slide_lines(section)
        pages = [lines[i : i + MAX_SLIDE_LINES] for i in range(0, len(lines), MAX_SLIDE_LINES)] or [[]]
        for page in pages:
            slide = presentation.slides.add_slide(presentation.slide_layouts[1])  # title and content
            slide.shapes.title.text = title
            body = slide.placeholders[1].text_frame
            for index, (level, text) in enumerate(page):
                paragraph = body.paragraphs[0] if index == 0 else body.add_paragraph()
                paragraph.text = text
                paragraph.level = level
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def cell_value(text: str, force_text: bool) -> str | int | float:
    """A table cell for a spreadsheet: numbers become numbers unless text is forced."""
    if force_text:
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def write_xlsx(tables: Sequence[Table], force_text: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    if not tables:
        raise ToolError("No Markdown table found in the text: md_to_xlsx exports tables.")
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # a new workbook comes with one empty sheet
    for index, table in enumerate(tables, start=1):
        sheet = workbook.create_sheet(f"Sheet{index}")
        sheet.append(list(table.header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([cell_value(text, force_text) for text in row])
        for column in sheet.columns:
            longest = max((len(str(c.value or "")) for c in column), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(longest + 2, 8), 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

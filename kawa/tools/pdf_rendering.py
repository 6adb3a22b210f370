"""Markdown to PDF (fpdf2, from the HTML markdown-it renders) and PDF pages to PNG images (pdfium).

Text is set in DejaVu Sans, which matplotlib ships (Latin, Greek, Cyrillic and many symbols); scripts DejaVu lacks
(Chinese, Japanese, Korean...) come out as empty boxes: no CJK font is installed with kawa.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from kawa.tools.markdown_blocks import render_html
from kawa.tools.tool import ToolError

FONT = "DejaVu"
MONO_FONT = "DejaVuMono"
PNG_SCALE = 2.0  # 144 dpi: readable tables without huge files
MAX_PNG_PAGES = 50


@cache
def _font_files() -> dict[tuple[str, str], Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {
        (FONT, ""): folder / "DejaVuSans.ttf",
        (FONT, "B"): folder / "DejaVuSans-Bold.ttf",
        (FONT, "I"): folder / "DejaVuSans-Oblique.ttf",
        (FONT, "BI"): folder / "DejaVuSans-BoldOblique.ttf",
        (MONO_FONT, ""): folder / "DejaVuSansMono.ttf",
        (MONO_FONT, "B"): folder / "DejaVuSansMono-Bold.ttf",
        (MONO_FONT, "I"): folder / "DejaVuSansMono-Oblique.ttf",
        (MONO_FONT, "BI"): folder / "DejaVuSansMono-BoldOblique.ttf",
    }


def markdown_to_pdf(markdown: str) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import TextStyle

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    for (family, style), path in _font_files().items():
        pdf.add_font(family, style, str(path))
    pdf.add_page()
    pdf.set_font(FONT, size=11)
    code = TextStyle(font_family=MONO_FONT)
    try:
        pdf.write_html(render_html(markdown), font_family=FONT, tag_styles={"code": code, "pre": code})
    except (ValueError, NotImplementedError) as e:  # fpdf2 refuses some layouts (e.g. a table inside a list)
        raise ToolError(f"Failed to convert markdown text to PDF file, error: {e}") from e
    return bytes(pdf.output())


def pdf_to_pngs(pdf: bytes, *, scale: float = PNG_SCALE) -> list[bytes]:
    """One PNG per page (at most `MAX_PNG_PAGES`)."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(pdf)
    except pypdfium2.PdfiumError as e:
        raise ToolError(f"Not a readable PDF file: {e}") from e
    images: list[bytes] = []
    try:
        for index in range(min(len(document), MAX_PNG_PAGES)):
            page = document[index]
            bitmap = page.render(scale=scale)
            buffer = io.BytesIO()
            bitmap.to_pil().save(buffer, format="PNG", optimize=True)
            images.append(buffer.getvalue())
            bitmap.close()
            page.close()
    finally:
        document.close()
    return images

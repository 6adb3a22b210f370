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


def _faces_used(html: str) -> set[tuple[str, str]]:
    """The font faces an HTML fragment likely needs: parsing a TrueType font is most of the time of a small PDF
    (profiled: 8 faces took ~60 %), so only these are loaded, and all of them only if a guess was short."""
    bold = "<strong" in html or "<th" in html
    italic = "<em" in html
    faces = {(FONT, "")}
    faces |= {(FONT, "B")} if bold else set()
    faces |= {(FONT, "I")} if italic else set()
    faces |= {(FONT, "BI")} if bold and italic else set()
    faces |= {(MONO_FONT, "")} if "<code" in html or "<pre" in html else set()
    return faces


def _render(html: str, faces: set[tuple[str, str]]) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import TextStyle

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    for (family, style), path in _font_files().items():
        if (family, style) in faces:
            pdf.add_font(family, style, str(path))
    pdf.add_page()
    pdf.set_font(FONT, size=11)
    code = TextStyle(font_family=MONO_FONT)
    pdf.write_html(html, font_family=FONT, tag_styles={"code": code, "pre": code})
    return bytes(pdf.output())


def markdown_to_pdf(markdown: str) -> bytes:
    from fpdf.errors import FPDFException

    html = render_html(markdown)
    try:
        try:
            return _render(html, _faces_used(html))
        except FPDFException as e:
            if "Undefined font" not in str(e):
                raise
            return _render(html, set(_font_files()))
    except (FPDFException, ValueError, NotImplementedError) as e:  # fpdf2 refuses some layouts
        raise ToolError(f"Failed to convert markdown text to PDF file, error: {e}") from e


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

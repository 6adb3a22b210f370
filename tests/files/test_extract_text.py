"""extract_text: every supported document format, built for real inside the test."""

from __future__ import annotations

import io
import json
import zipfile
from email.message import EmailMessage

import pytest

from kawa.errors import TextExtractionError, UnsupportedFileTypeError
from kawa.files.extract import extract_text


def test_plain_text_and_markdown_are_returned_as_is() -> None:
    assert extract_text("héllo\nworld".encode(), filename="a.txt", mime_type="text/plain") == "héllo\nworld"
    assert extract_text(b"# Title\n\n- item", filename="README.md", mime_type=None) == "# Title\n\n- item"


def test_text_in_another_encoding_is_detected() -> None:
    text = "Grüße aus München, schöne Grüße an alle Bäcker und Metzger in der Straße"
    assert extract_text(text.encode("latin-1"), filename="a.txt", mime_type=None) == text


def test_csv_becomes_a_markdown_table() -> None:
    data = b'name,qty\napple,3\n"pipe|fruit",4\n'
    assert extract_text(data, filename="stock.csv", mime_type="text/csv") == (
        "| name | qty |\n| --- | --- |\n| apple | 3 |\n| pipe\\|fruit | 4 |"
    )


def test_type_comes_from_the_mime_type_when_the_name_has_no_extension() -> None:
    assert extract_text(b"a,b\n1,2\n", filename="download", mime_type="text/csv; charset=utf-8") == (
        "| a | b |\n| --- | --- |\n| 1 | 2 |"
    )


def test_json_is_pretty_printed() -> None:
    assert extract_text(b'{"a":[1,"\xc3\xa9"]}', filename="x.json", mime_type=None) == json.dumps(
        {"a": [1, "é"]}, indent=2, ensure_ascii=False
    )


def test_yaml_is_reserialised() -> None:
    assert extract_text(b"b: 1\na: [x, y]\n", filename="c.yaml", mime_type=None) == "b: 1\na:\n- x\n- y\n"


def test_html_loses_its_markup_scripts_and_styles() -> None:
    html = (
        b"<html><head><title>T</title><style>p{}</style></head><body><h1>Head</h1>"
        b"<p>One &amp; two</p><script>alert(1)</script><ul><li>a</li><li>b</li></ul></body></html>"
    )
    assert extract_text(html, filename="page.html", mime_type="text/html") == "Head\n\nOne & two\n\na\n\nb"


def test_docx_keeps_paragraphs_and_tables_in_order() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Before the table")
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "k", (0, 1): "v", (1, 0): "x", (1, 1): "1"}.items():
        table.cell(r, c).text = text
    document.add_paragraph("After the table")
    buffer = io.BytesIO()
    document.save(buffer)
    assert extract_text(buffer.getvalue(), filename="d.docx", mime_type=None) == (
        "Before the table\n| k | v |\n| --- | --- |\n| x | 1 |\nAfter the table"
    )


def test_xlsx_sheets_become_markdown_tables() -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Fruit"
    sheet.append(["name", "price"])
    sheet.append(["apple", 1.5])
    sheet.append([None, None])
    sheet.append(["pear", 2.0])
    other = workbook.create_sheet("Notes")
    other.append(["note"])
    other.append(["fresh"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert extract_text(buffer.getvalue(), filename="prices.xlsx", mime_type=None) == (
        "## Fruit\n\n| name | price |\n| --- | --- |\n| apple | 1.5 |\n| pear | 2 |\n\n"
        "## Notes\n\n| note |\n| --- |\n| fresh |"
    )


def test_pptx_slides_text_and_tables() -> None:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    assert slide.shapes.title is not None
    slide.shapes.title.text = "Quarterly"
    shape = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1))
    for (r, c), text in {(0, 0): "q", (0, 1): "sales", (1, 0): "Q1", (1, 1): "10"}.items():
        shape.table.cell(r, c).text = text
    second = presentation.slides.add_slide(presentation.slide_layouts[5])
    assert second.shapes.title is not None
    second.shapes.title.text = "Thanks"
    buffer = io.BytesIO()
    presentation.save(buffer)
    assert extract_text(buffer.getvalue(), filename="deck.pptx", mime_type=None) == (
        "Quarterly\n| q | sales |\n| --- | --- |\n| Q1 | 10 |\n\nThanks"
    )


def _minimal_pdf(text: str) -> bytes:
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_text_is_extracted() -> None:
    assert extract_text(_minimal_pdf("Hello from a PDF"), filename="a.pdf", mime_type=None).strip() == (
        "Hello from a PDF"
    )


def test_corrupt_pdf_is_a_typed_error() -> None:
    with pytest.raises(TextExtractionError, match="Failed to extract text from PDF"):
        extract_text(b"%PDF-1.4 not really", filename="broken.pdf", mime_type=None)


def test_eml_headers_and_body() -> None:
    message = EmailMessage()
    message["Subject"] = "Invoice"
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message.set_content("Please find it attached.")
    message.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="inv.bin")
    text = extract_text(message.as_bytes(), filename="mail.eml", mime_type=None)
    assert text == (
        "Subject: Invoice\nFrom: a@example.com\nTo: b@example.com\nAttachments: inv.bin\n\nPlease find it attached."
    )


def test_epub_chapters_in_spine_order() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            (
                '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                "</rootfiles></container>"
            ),
        )
        book.writestr(
            "OEBPS/content.opf",
            (
                '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
                '<manifest><item id="c1" href="one.xhtml" media-type="application/xhtml+xml"/>'
                '<item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/></manifest>'
                '<spine><itemref idref="c2"/><itemref idref="c1"/></spine></package>'
            ),
        )
        book.writestr("OEBPS/one.xhtml", "<html><body><p>Chapter one.</p></body></html>")
        book.writestr("OEBPS/text/two.xhtml", "<html><body><h1>Prologue</h1></body></html>")
    assert extract_text(buffer.getvalue(), filename="b.epub", mime_type=None) == "Prologue\n\nChapter one."


def test_vtt_cues_are_merged_per_speaker() -> None:
    vtt = (
        b"WEBVTT\n\n1\n00:00.000 --> 00:01.000\n<v Ann>Hello\n\n2\n00:01.000 --> 00:02.000\n<v Ann>there\n\n"
        b"00:02.000 --> 00:03.000\n<v Bob>Hi Ann\n"
    )
    assert extract_text(vtt, filename="talk.vtt", mime_type=None) == 'Ann "Hello there"\nBob "Hi Ann"'


def test_properties_become_key_value_lines() -> None:
    data = b"# comment\nname=kawa\nport : 5001\nlong = a \\\n  b\n"
    assert extract_text(data, filename="app.properties", mime_type=None) == "name: kawa\nport: 5001\nlong: a b"


def test_unsupported_extension_is_refused_in_difys_words() -> None:
    with pytest.raises(UnsupportedFileTypeError, match=r"Unsupported Extension Type: \.exe"):
        extract_text(b"MZ", filename="setup.exe", mime_type="application/octet-stream")
    with pytest.raises(UnsupportedFileTypeError, match="Unsupported MIME type: image/png"):
        extract_text(b"\x89PNG", filename="blob", mime_type="image/png")


def test_extraction_runs_in_a_thread() -> None:
    import asyncio

    async def extract() -> str:
        return await asyncio.to_thread(extract_text, b"x,y\n", filename="t.csv", mime_type=None)

    assert asyncio.run(extract()) == "| x | y |\n| --- | --- |"


def test_corrupt_legacy_xls_is_a_typed_error() -> None:
    with pytest.raises(TextExtractionError, match="Failed to extract text from XLS"):
        extract_text(b"\xd0\xcf\x11\xe0 not a workbook", filename="old.xls", mime_type=None)

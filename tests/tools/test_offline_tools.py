"""kawa's offline tool providers under Dify's provider/tool ids: the files they produce open in the libraries that
read those formats, and bad input is a `ToolError` with a clear message."""

from __future__ import annotations

import csv
import io
import json

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image
from pptx import Presentation
from pypdf import PdfReader, PdfWriter

from kawa.tools.builtin import find_builtin_tool, provider_names
from kawa.tools.tool import InputFile, ToolError

REPORT = """```markdown
# Quarterly report

Sales grew **12 %** in *Zürich*.

- north
  - lake
1. first

| city | sales |
|---|---|
| Zürich | 12 |
| Basel | 7.5 |

## Next steps

```python
print("hi")
```
```"""


def run(provider: str, name: str, **arguments: object):
    tool = find_builtin_tool(provider, name)
    assert tool is not None, (provider, name)
    return tool.invoke(arguments)


def only_file(output):
    [file] = output.files
    return file


def test_every_provider_of_real_exports_is_in_the_catalogue() -> None:
    assert set(provider_names()) >= {
        "md_exporter",
        "pdf_process",
        "base64_codec",
        "json_process",
        "regex",
        "chart",
        "echarts",
        "mermaid_converter",
    }
    assert find_builtin_tool("bowenliang123/md_exporter/md_exporter", "md_to_docx") is not None
    assert find_builtin_tool("langgenius/json_process/json_process", "parse") is not None
    assert find_builtin_tool("google", "google_search") is None


def test_markdown_to_docx_keeps_headings_lists_and_tables() -> None:
    file = only_file(run("md_exporter", "md_to_docx", md_text=REPORT, output_filename="report"))
    assert file.filename == "report.docx"
    document = Document(io.BytesIO(file.content))
    texts = [p.text for p in document.paragraphs]
    assert "Quarterly report" in texts and "Sales grew 12 % in Zürich." in texts
    assert document.paragraphs[texts.index("north")].style.name == "List Bullet"
    assert document.paragraphs[texts.index("lake")].style.name == "List Bullet 2"
    [table] = document.tables
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["city", "sales"],
        ["Zürich", "12"],
        ["Basel", "7.5"],
    ]


def test_markdown_to_xlsx_puts_each_table_on_a_sheet_with_numbers_when_asked() -> None:
    file = only_file(run("md_exporter", "md_to_xlsx", md_text=REPORT, force_text_value="false"))
    sheet = load_workbook(io.BytesIO(file.content)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["city", "sales"], ["Zürich", 12], ["Basel", 7.5]]
    as_text = only_file(run("md_exporter", "md_to_xlsx", md_text=REPORT))
    assert load_workbook(io.BytesIO(as_text.content)).active["B2"].value == "12"


def test_markdown_to_pptx_starts_a_slide_at_each_heading() -> None:
    file = only_file(run("md_exporter", "md_to_pptx", md_text=REPORT))
    slides = Presentation(io.BytesIO(file.content)).slides
    titles = [slide.shapes.title.text for slide in slides]
    assert titles[0] == "Quarterly report" and "Next steps" in titles
    assert any(shape.has_table for slide in slides for shape in slide.shapes)


def test_markdown_to_pdf_and_png_render_the_text() -> None:
    pdf = only_file(run("md_exporter", "md_to_pdf", md_text=REPORT))
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Quarterly report" in text and "Zürich" in text
    png = only_file(run("md_exporter", "md_to_png", md_text=REPORT))
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG" and image.width > 1000


def test_pdf_loads_only_the_font_faces_the_text_uses_and_still_renders_every_style() -> None:
    pdf = only_file(run("md_exporter", "md_to_pdf", md_text="***both*** and `code`\n\n> *quoted*\n\n```\nblock\n```"))
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "both" in text and "code" in text and "quoted" in text and "block" in text
    plain = only_file(run("md_exporter", "md_to_pdf", md_text="just words"))
    fonts = {str(f) for f in PdfReader(io.BytesIO(plain.content)).pages[0]["/Resources"]["/Font"].values()}
    assert len(fonts) == 1


def test_markdown_tables_to_csv_and_json() -> None:
    rows = list(
        csv.reader(io.StringIO(only_file(run("md_exporter", "md_to_csv", md_text=REPORT)).content.decode("utf-8-sig")))
    )
    assert rows == [["city", "sales"], ["Zürich", "12"], ["Basel", "7.5"]]
    array = only_file(run("md_exporter", "md_to_json", md_text=REPORT, output_style="json_array"))
    assert json.loads(array.content) == [{"city": "Zürich", "sales": 12}, {"city": "Basel", "sales": 7.5}]
    lines = only_file(run("md_exporter", "md_to_json", md_text=REPORT)).content.decode().splitlines()
    assert [json.loads(line)["city"] for line in lines] == ["Zürich", "Basel"]


def test_markdown_without_a_table_is_a_clear_error() -> None:
    with pytest.raises(ToolError, match="No Markdown table"):
        run("md_exporter", "md_to_csv", md_text="just text")
    with pytest.raises(ToolError, match="md_text"):
        run("md_exporter", "md_to_docx", md_text="  ")


def test_markdown_to_latex_escapes_special_characters() -> None:
    file = only_file(
        run(
            "md_exporter", "md_to_latex", md_text="# Costs_2024\n\n**50 %** & more\n\n| a | b |\n|---|---|\n| $1 | #2 |"
        )
    )
    tex = file.content.decode()
    assert file.filename == "output.tex"
    assert tex.startswith("\\documentclass{article}") and tex.rstrip().endswith("\\end{document}")
    assert "\\section*{Costs\\_2024}" in tex and "\\textbf{50 \\%} \\& more" in tex
    assert "\\$1 & \\#2 \\\\ \\hline" in tex


def test_code_blocks_become_files_by_language() -> None:
    file = only_file(run("md_exporter", "md_to_codeblock", md_text=REPORT))
    assert file.filename == "code.py" and file.content == b'print("hi")\n'


def sample_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_tools_read_split_and_merge() -> None:
    report = only_file(run("md_exporter", "md_to_pdf", md_text=REPORT))
    given = InputFile(report.content, "report.pdf", "application/pdf")
    assert "Quarterly report" in run("pdf_process", "extract_text", file=given).text
    three = InputFile(sample_pdf(3), "three.pdf", "application/pdf")
    assert run("pdf_process", "pdf_info", file=three).json[0]["page_count"] == 3
    picked = only_file(run("pdf_process", "extract_pages", file=three, pages="2-3"))
    assert len(PdfReader(io.BytesIO(picked.content)).pages) == 2
    assert len(run("pdf_process", "split_pdf", file=three).files) == 3
    merged = only_file(run("pdf_process", "merge_pdfs", files=[three, given]))
    assert len(PdfReader(io.BytesIO(merged.content)).pages) == 4
    with pytest.raises(ToolError, match="outside 1-3"):
        run("pdf_process", "extract_pages", file=three, pages="2-9")
    with pytest.raises(ToolError, match="not a readable PDF"):
        run("pdf_process", "extract_text", file=InputFile(b"nope", "x.pdf", "application/pdf"))


def test_base64_round_trips_text_files_and_hex() -> None:
    encoded = run("base64_codec", "base64_encoder", plain_text="héllo?", urlsafe_enabled="true").text
    assert run("base64_codec", "base64_decoder", encoded_text=encoded, urlsafe_enabled="true").text == "héllo?"
    assert run("base64_codec", "base64_to_hex", encoded_text="AQID", urlsafe_enabled="false").text == "010203"
    assert run("base64_codec", "hex_to_base64", hex_text="010203").text == "AQID"
    image = run("base64_codec", "base64_image_encoder", input_image=InputFile(b"\x89PNG", "a.png", "image/png")).text
    assert image == "data:image/png;base64,iVBORw=="
    decoded = only_file(run("base64_codec", "base64_image_decoder", encoded_text=image, splitter_str="\n\n"))
    assert decoded.content == b"\x89PNG" and decoded.filename == "image_1.png"
    with pytest.raises(ToolError, match="Invalid Base64"):
        run("base64_codec", "base64_decoder", encoded_text="%%%")


def test_json_process_selects_replaces_inserts_and_deletes() -> None:
    doc = '{"items": [{"name": "a", "price": 1}, {"name": "b", "price": 2}], "note": "old text"}'
    assert run("json_process", "parse", content=doc, json_filter="$.items[1].name").text == "b"
    assert run("json_process", "parse", content=doc, json_filter="$..price").text == "[1, 2]"
    replaced = run(
        "json_process",
        "json_replace",
        content=doc,
        query="$.note",
        replace_model="pattern",
        replace_pattern="old",
        replace_value="new",
    )
    assert json.loads(replaced.text)["note"] == "new text"
    inserted = run(
        "json_process", "json_insert", content=doc, query="$.items", new_value='{"name": "c"}', value_decode=True
    )
    assert json.loads(inserted.text)["items"][-1] == {"name": "c"}
    deleted = run("json_process", "json_delete", content=doc, query="items[0]")
    assert json.loads(deleted.text)["items"] == [{"name": "b", "price": 2}]
    with pytest.raises(ToolError, match="not JSON"):
        run("json_process", "parse", content="{oops", json_filter="$.a")


def test_regex_extract_lists_matches() -> None:
    assert run("regex", "regex_extract", content="a1 b22 c333", expression=r"\d+").text == "['1', '22', '333']"
    with pytest.raises(ToolError, match="Failed to extract"):
        run("regex", "regex_extract", content="x", expression="(")


def test_chart_tools_draw_png_images_and_echarts_options() -> None:
    for name, extra in (("bar_chart", {"x_axis": "a;b;c"}), ("line_chart", {}), ("pie_chart", {"categories": "a;b;c"})):
        output = run("langgenius/chart/chart", name, data="1;2;3.5", **extra)
        assert output.text.endswith("chart is saved as an image.")
        image = Image.open(io.BytesIO(only_file(output).content))
        assert (image.format, image.size) == ("PNG", (1000, 800))
    option = run("echarts", "bar_chart", title="T", data="1;2", x_axis="a;b").text
    assert option.startswith("```echarts\n")
    assert json.loads(option.removeprefix("```echarts\n").removesuffix("\n```"))["series"][0]["data"] == [1, 2]
    with pytest.raises(ToolError, match="Invalid parameter data"):
        run("chart", "bar_chart", data="1;x")


def test_mermaid_is_returned_as_source_not_rendered() -> None:
    output = run(
        "hjlarry/mermaid_converter/mermaid_converter",
        "mermaid_converter",
        mermaid_code="graph TD; A-->B",
        output_format="png",
    )
    assert "not rendered" in output.text and "```mermaid\ngraph TD; A-->B\n```" in output.text
    assert output.json[0]["rendered"] is False
    assert only_file(output).content == b"graph TD; A-->B"


async def test_a_tool_node_without_file_storage_says_its_files_were_not_kept() -> None:
    from models.nodes_support import run_node

    from kawa.models.registry import ModelRuntime
    from kawa.models.settings import ModelsSettings
    from kawa.workflow.nodes.tool import ToolNode

    runtime = ModelRuntime(ModelsSettings.model_validate({"embedded": {"enabled": False}}))
    data = {
        "type": "tool",
        "title": "csv",
        "provider_id": "md_exporter",
        "provider_type": "builtin",
        "tool_name": "md_to_csv",
        "tool_parameters": {"md_text": {"type": "constant", "value": "| a |\n|---|\n| 1 |"}},
    }
    try:
        result = (await run_node(ToolNode, data, runtime)).result
    finally:
        await runtime.aclose()
    assert result.outputs["files"] == []
    assert result.process_data == {
        "files_note": "no file storage configured; 1 file(s) the tool produced were not kept"
    }

"""Knowledge in the console, in a real browser: create a dataset, upload a document and watch it index (the
embedded embedding model), read its chunks, and test retrieval."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from web.harness import KawaServer, log_in

TEXT = (
    "Kawa rivers flow through the valley every spring.\n\n"
    "The lighthouse keeper counts ships at night and writes their names in a blue notebook.\n\n"
    "Rice fields need water in early summer, when the young plants are set out in rows.\n"
)


def test_upload_a_document_and_watch_it_index(page: Page, server: KawaServer, tmp_path: Path) -> None:
    log_in(page, server, "/console/datasets")
    page.get_by_label("New dataset").fill("Field notes")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Field notes")).to_be_visible()
    document = tmp_path / "notes.txt"
    document.write_text(TEXT)
    page.locator("#doc-file").set_input_files(str(document))
    status = page.get_by_test_id("indexing-status")
    expect(status).to_have_count(1)
    expect(status).to_have_text("completed", timeout=120_000)
    expect(page.get_by_role("progressbar", name="Indexing notes.txt")).to_have_attribute("value", "100")
    page.get_by_role("button", name="notes.txt").click()
    expect(page.locator(".chunks li").first).to_contain_text("Kawa rivers")
    page.get_by_label("Retrieval test").fill("who counts ships at night?")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".hits li").first).to_contain_text("lighthouse keeper")

"""The workflow WebApp and the console's run trace in a real browser: the input form, live per-node progress, the
outputs; then the run in the console, its graph coloured by node status and its Gantt timeline with node detail."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from web.harness import SCREENSHOTS, KawaServer, import_in_console, log_in


def test_run_a_workflow_then_open_its_trace(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "workflow-hello.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    expect(page.locator("svg.graph .node")).to_have_count(3)  # the graph drawn from the DSL's positions
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))

    page.goto(webapp)
    expect(page.get_by_role("heading", name="Hello kawa")).to_be_visible()
    page.get_by_label("Your name").fill("Ada")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("succeeded")
    steps = page.get_by_role("list", name="Steps").locator("li")
    expect(steps).to_have_count(3)
    expect(steps.nth(1)).to_have_class("step status-succeeded")
    expect(page.locator('[data-output="greeting"]')).to_contain_text("Hello, Ada! Your name has 3 letters.")

    page.goto(f"{server.base_url}/console/apps/{app_id}")
    expect(page.get_by_role("img", name="Latency: 1 runs")).to_be_visible()  # per-run latency and token charts
    expect(page.get_by_role("img", name="Tokens: 1 runs")).to_be_visible()
    page.locator("table.runs tbody a").first.click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.locator("svg.graph .node.status-succeeded")).to_have_count(3)
    bars = page.locator("svg.gantt .bar")
    expect(bars).to_have_count(3)
    bars.nth(1).focus()
    page.keyboard.press("Enter")
    detail = page.locator(".node-detail")
    expect(detail.get_by_role("heading", name="Greeting")).to_be_visible()
    expect(detail).to_contain_text("Hello, Ada!")
    page.locator('svg.graph .node[data-node="end"]').click()
    expect(detail.get_by_role("heading", name="End")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "run-trace.png"), full_page=True)


def test_file_and_number_inputs_are_uploaded_and_sent(page: Page, server: KawaServer, tmp_path: Path) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "workflow-files.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    notes = [tmp_path / "a.txt", tmp_path / "b.md"]
    for note in notes:
        note.write_text("some notes\n")
    page.goto(webapp)
    page.get_by_label("Documents").set_input_files([str(n) for n in notes])
    page.get_by_label("Lucky number").fill("7")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("succeeded")
    expect(page.locator('[data-output="summary"]')).to_contain_text(": 2; lucky number 7")


def test_stop_ends_a_running_workflow(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "workflow-slow.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    page.goto(webapp)
    page.get_by_label("Seconds").fill("60")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator(".step.status-running")).to_have_count(1)  # the code node, napping
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status")).to_contain_text("stopped", timeout=15_000)
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    expect(page.locator("table.runs tbody .badge").first).to_have_text("stopped")
    page.get_by_label("Status").select_option("succeeded")  # Dify's status filter of the run log
    expect(page.locator("table.runs tbody tr")).to_have_text("No runs.")
    page.get_by_label("Status").select_option("stopped")
    expect(page.locator("table.runs tbody .badge")).to_have_count(1)


def test_run_batch_from_a_csv_and_download_the_results(page: Page, server: KawaServer, tmp_path: Path) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "workflow-hello.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    table = tmp_path / "names.csv"
    table.write_text('name\nAda\n"Grace, H"\nLin\n')
    page.goto(webapp)
    page.get_by_label("Run batch (CSV)").set_input_files(str(table))
    expect(page.get_by_text("Batch finished: 3")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("progressbar", name="Batch progress")).to_have_attribute("value", "3")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download results").click()
    rows = download.value.path().read_text().splitlines()
    assert rows[0] == '"name","status","outputs"'
    assert rows[2].startswith('"Grace, H","succeeded",') and "Hello, Grace, H!" in rows[2]
    assert len(rows) == 4


def test_a_completion_app_generates_from_its_form(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "completion-writer.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    assert "/completion/" in webapp
    page.goto(webapp)
    page.get_by_label("Product").fill("Kettle")
    page.get_by_label("Facts").fill("Boils fast.")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(".outputs .md")).to_have_text("Hello from the fake upstream.")

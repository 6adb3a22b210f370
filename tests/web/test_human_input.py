"""Human Input in the workflow WebApp, in a real browser: the run pauses at the form, the form shows inline with its
defaults and actions, and submitting it resumes the run to the branch of the chosen action."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from web.harness import KawaServer, log_in

APPROVAL_DSL = Path(__file__).resolve().parent / "fixtures" / "human-approval.yml"


def test_a_paused_run_shows_its_form_inline_and_resumes_on_submit(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    page.locator("#dsl-file").set_input_files(str(APPROVAL_DSL))
    page.get_by_role("link", name="Open the app →").click()
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    page.goto(webapp)
    page.get_by_label("Name").fill("Ada")
    page.get_by_role("button", name="Run", exact=True).click()
    form = page.get_by_role("form", name="Review")
    expect(form).to_contain_text("Please review the draft:")
    expect(page.get_by_role("status")).to_contain_text("paused")
    expect(form.get_by_label("comment")).to_have_value("Dear Ada, welcome aboard.")  # the default from the draft
    form.get_by_label("comment").fill("Looks good")
    form.get_by_label("priority").select_option("high")
    form.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("succeeded")
    expect(page.locator('[data-output="result"]')).to_contain_text("Looks good (high)")
    expect(page.get_by_role("form", name="Review")).to_have_count(0)

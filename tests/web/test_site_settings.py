"""A WebApp honours its app's `site` settings: title, description, default language (Japanese here), copyright,
privacy policy, disclaimer, and `show_workflow_steps: false`."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from web.harness import KawaServer, log_in

SITE_DSL = Path(__file__).resolve().parent / "fixtures" / "site-settings.yml"


def test_the_webapp_follows_the_site_settings(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    page.locator("#dsl-file").set_input_files(str(SITE_DSL))
    page.get_by_role("link", name="Open the app →").click()
    webapp = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    page.goto(webapp)
    expect(page).to_have_title("こんにちは kawa")
    assert page.evaluate("document.documentElement.lang") == "ja"
    expect(page.get_by_role("heading", name="こんにちは kawa")).to_be_visible()
    expect(page.get_by_text("名前であいさつします。")).to_be_visible()
    footer = page.locator("footer")
    expect(footer).to_contain_text("© Kawa Example Co.")
    expect(footer).to_contain_text("Answers may be wrong.")
    expect(footer.get_by_role("link", name="プライバシーポリシー")).to_have_attribute(
        "href", "https://example.com/privacy"
    )
    page.get_by_label("Your name").fill("Ada")
    page.get_by_role("button", name="実行", exact=True).click()
    expect(page.locator('[data-output="greeting"]')).to_contain_text("Hello, Ada!")
    expect(page.get_by_role("list", name="ステップ")).to_have_count(0)  # show_workflow_steps: false

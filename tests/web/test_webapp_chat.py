"""The chat WebApp in a real browser: the answer streams in token by token and ends as rendered Markdown with
highlighted code; conversations are listed, renamed, pinned and deleted; feedback; the opening statement and
suggested questions; each browser is its own end user. Also the page weight and the time to first token."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from playwright.sync_api import Browser, Page, expect

from web.harness import ANSWER, SCREENSHOTS, KawaServer, import_in_console, log_in


@pytest.fixture(scope="module")
def chat_url(browser: Browser, server: KawaServer) -> str:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server)
    app_id = import_in_console(page, "chat-assistant.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    url = server.base_url + str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    context.close()
    return url


def test_the_answer_streams_then_renders_markdown_with_highlighted_code(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    expect(page.get_by_text("Hi! I can answer questions about the weather.")).to_be_visible()
    page.get_by_label("Message").fill("Will it rain?")
    page.get_by_role("button", name="Send").click()
    streaming = page.locator(".bubble.answer .md.streaming")
    expect(streaming).to_contain_text("Here is")  # partial text, shown while the answer is still coming
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    answer = page.locator(".bubble.answer .md").last
    expect(answer.locator("strong")).to_have_text("bold")
    expect(answer.locator("pre code .hl-k").first).to_have_text("def")  # Pygments' keyword class
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "webapp-chat.png"))


def test_first_token_time_and_page_weight(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    page.wait_for_load_state("networkidle")
    weight = page.evaluate(
        """() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
            .reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0)"""
    )
    page.get_by_label("Message").fill("Is it windy?")
    started = time.perf_counter()
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(
        "() => { const md = document.querySelectorAll('.bubble.answer .md'); return md[md.length - 1].textContent }"
    )
    first_token_ms = (time.perf_counter() - started) * 1000
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nchat page weight: {weight / 1024:.1f} KB; first token rendered: {first_token_ms:.0f} ms; load {load}")
    assert 0 < weight < 200 * 1024
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_conversations_rename_pin_delete(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    page.get_by_label("Message").fill("First question")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    conversations = page.get_by_role("complementary", name="Conversations").locator("li")
    expect(conversations).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept("Trip planning"))
    conversations.first.locator("summary").click()
    conversations.first.get_by_role("button", name="Rename").click()
    expect(conversations.first).to_contain_text("Trip planning")
    conversations.first.locator("summary").click()
    conversations.first.get_by_role("button", name="Pin").click()
    expect(conversations.first).to_contain_text("📌 Trip planning")
    page.reload()
    expect(conversations.first).to_contain_text("📌 Trip planning")
    page.get_by_role("button", name="Trip planning").click()
    expect(page.locator(".bubble.question")).to_have_text("First question")
    page.once("dialog", lambda dialog: dialog.accept())
    conversations.first.locator("summary").click()
    conversations.first.get_by_role("button", name="Delete").click()
    expect(conversations).to_have_count(0)


def test_feedback_and_suggested_questions(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    page.get_by_role("button", name="Is it windy?").click()  # a suggested question of the app
    like = page.get_by_role("button", name="Helpful", exact=True).last
    expect(like).to_be_visible()
    with page.expect_response(re.compile(r".*/feedbacks$")) as answered:
        like.click()
    assert answered.value.status == 200
    expect(like).to_have_attribute("aria-pressed", "true")


def test_the_console_logs_messages_with_their_feedback(page: Page, chat_url: str, server: KawaServer) -> None:
    page.goto(chat_url)
    page.get_by_label("Message").fill("Rate me")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Not helpful").last.click()
    expect(page.get_by_role("button", name="Not helpful").last).to_have_attribute("aria-pressed", "true")
    code = chat_url.rsplit("/", 1)[-1]
    log_in(page, server)
    page.locator(f'a[href="/chat/{code}"]').locator("xpath=ancestor::li").get_by_role("link").first.click()
    page.get_by_label("Feedback").select_option("dislike")
    rows = page.locator("table.messages-log tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Rate me")
    expect(rows.first.get_by_test_id("rating")).to_have_text("👎")


def test_each_browser_is_its_own_end_user(browser: Browser, page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    page.get_by_label("Message").fill("Mine only")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    other = browser.new_context().new_page()
    other.goto(chat_url)
    expect(other.locator(".sidebar")).to_be_visible()
    other.wait_for_load_state("networkidle")
    expect(other.get_by_role("complementary", name="Conversations").locator("li")).to_have_count(0)
    other.context.close()


def test_writes_need_the_webapp_header_and_cookie(chat_url: str) -> None:
    code = chat_url.rsplit("/", 1)[-1]
    base = chat_url.split("/chat/")[0]
    body = {"query": "hi", "inputs": {"unit": "celsius"}}
    bare = httpx.post(f"{base}/web-api/{code}/chat-messages", json=body)
    assert bare.status_code == 403
    no_cookie = httpx.post(f"{base}/web-api/{code}/chat-messages", json=body, headers={"X-Kawa-Web": "1"})
    assert no_cookie.status_code == 401
    assert httpx.get(f"{base}/web-api/not-a-code/conversations").status_code == 404


def test_the_chat_page_fits_a_phone_in_dark_mode(browser: Browser, chat_url: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, color_scheme="dark")
    page = context.new_page()
    page.goto(chat_url)
    expect(page.get_by_label("Message")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 24)"
    page.keyboard.press("Tab")  # the skip link is the first stop, then the sidebar's first button
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="New chat")).to_be_focused()
    context.close()


def test_stop_ends_a_streaming_answer(page: Page, chat_url: str, upstream: FakeOpenAI) -> None:
    upstream.on_model("gpt-4o-mini", Scenario(text="slow " * 400, chunk_delay_s=0.05))
    try:
        page.goto(chat_url)
        page.get_by_label("Message").fill("Tell me a long story")
        page.get_by_role("button", name="Send").click()
        expect(page.locator(".bubble.answer .md.streaming")).to_contain_text("slow slow")
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=10_000)
        shown = page.locator(".bubble.answer .md").last.inner_text()
        assert 0 < shown.count("slow") < 400
    finally:
        upstream.on_model("gpt-4o-mini", Scenario(text=ANSWER, chunk_delay_s=0.02))


def test_read_aloud_speaks_the_answer_with_the_embedded_tts(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    page.get_by_label("Message").fill("Say something")
    page.get_by_role("button", name="Send").click()
    with page.expect_response("**/text-to-audio") as spoken:
        page.get_by_role("button", name="Read aloud").last.click()
    assert spoken.value.status == 200
    assert spoken.value.headers["content-type"].startswith("audio/")
    message_id = page.locator(".bubble.answer").last.get_attribute("data-message")
    size = page.evaluate(
        """(id) => fetch(location.pathname.replace(/^\\/chat\\//, "/web-api/") + "/text-to-audio", {
            method: "POST",
            headers: {"X-Kawa-Web": "1", "Content-Type": "application/json"},
            body: JSON.stringify({message_id: id}),
        }).then((r) => r.arrayBuffer()).then((b) => b.byteLength)""",
        message_id,
    )
    assert size > 1000  # speech of "Here is bold advice…", not an empty body

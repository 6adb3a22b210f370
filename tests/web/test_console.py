"""The console in a real browser: refused without a session, log in and out, import an app by upload (with
kawa's warnings), API keys shown once and revoked, WebApp turned off and on; CSRF and session checks over HTTP."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from web.harness import ADMIN_EMAIL, ADMIN_PASSWORD, DSL, KawaServer, import_in_console, log_in


def test_console_pages_redirect_to_login_without_a_session(page: Page, server: KawaServer) -> None:
    page.goto(server.base_url + "/console")
    expect(page).to_have_url(server.base_url + "/console/login?next=/console")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    answer = httpx.get(server.base_url + "/console/api/apps")
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_wrong_password_is_refused_and_the_right_one_logs_in(page: Page, server: KawaServer) -> None:
    page.goto(server.base_url + "/console/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "kawa_console")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"


def test_log_out_ends_the_session_for_a_copied_cookie_too(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "kawa_console")
    assert httpx.get(server.base_url + "/console/api/apps", cookies={"kawa_console": token}).status_code == 200
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(server.base_url + "/console/login")
    assert httpx.get(server.base_url + "/console/api/apps", cookies={"kawa_console": token}).status_code == 401
    page.goto(server.base_url + "/console")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_writes_without_the_csrf_token_or_from_another_origin_are_refused(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "kawa_console")
    csrf = page.evaluate("JSON.parse(document.getElementById('boot').textContent).csrf")
    with httpx.Client(base_url=server.base_url, cookies={"kawa_console": token}) as client:
        files = {"file": ("app.yml", (DSL / "workflow-hello.yml").read_bytes())}
        refused = client.post("/console/api/apps/import", files=files)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_token_invalid"
        foreign = client.post(
            "/console/api/apps/import", files=files, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        before = len(client.get("/console/api/apps").json()["data"])
        accepted = client.post("/console/api/apps/import", files=files, headers={"X-CSRF-Token": csrf})
        assert accepted.status_code == 200
        assert len(client.get("/console/api/apps").json()["data"]) == before + 1


def test_import_by_upload_shows_the_key_once_and_the_warnings(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    page.locator("#dsl-file").set_input_files(str(DSL / "agent-tools.yml"))
    expect(page.get_by_text("Imported “")).to_be_visible()
    expect(page.locator(".warnings")).to_contain_text("DSL version 0.3.1 is older")
    assert page.get_by_test_id("new-key").inner_text().startswith("app-")
    page.get_by_role("link", name="Open the app →").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()


def test_import_by_drag_and_drop(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    text = (DSL / "workflow-hello.yml").read_text()
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.items.add(new File([text], "hello.yml", {type: "text/yaml"}));
            const drop = new DragEvent("drop", {dataTransfer: data, bubbles: true});
            document.querySelector(".dropzone").dispatchEvent(drop);
        }""",
        text,
    )
    expect(page.get_by_text("Imported “Hello kawa”")).to_be_visible()
    page.reload()
    expect(page.get_by_role("link", name="Hello kawa").first).to_be_visible()


def test_api_keys_are_created_once_and_revoked(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "workflow-hello.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key").inner_text()
    run = {"inputs": {"name": "Ada"}, "user": "u"}
    url = server.base_url + "/v1/workflows/run"
    assert httpx.post(url, json=run, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".keys li", has_text=key[-4:]).get_by_role("button", name="Revoke").click()
    expect(page.locator(".keys li", has_text=key[-4:])).to_have_count(0)
    assert httpx.post(url, json=run, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 401
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)  # a key is shown only when made


def test_a_turned_off_webapp_is_not_found(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "workflow-hello.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    webapp = str(page.get_by_role("link", name="Open WebApp ↗").get_attribute("href"))
    assert httpx.get(server.base_url + webapp).status_code == 200
    with page.expect_response("**/site"):
        page.get_by_label("WebApp enabled").uncheck()
    assert httpx.get(server.base_url + webapp).status_code == 404
    with page.expect_response("**/site"):
        page.get_by_label("WebApp enabled").check()
    assert httpx.get(server.base_url + webapp).status_code == 200


def test_delete_removes_the_app(page: Page, server: KawaServer) -> None:
    log_in(page, server)
    app_id = import_in_console(page, "completion-writer.yml")
    page.goto(f"{server.base_url}/console/apps/{app_id}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export DSL").click()
    assert "mode: completion" in download.value.path().read_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete app").click()
    expect(page).to_have_url(server.base_url + "/console")
    expect(page.locator(f'a[href="/console/apps/{app_id}"]')).to_have_count(0)

"""A real `kawa serve` process on loopback (its models: the loopback fake OpenAI server, and the embedded
embedding model for knowledge), a console account made by `kawa admin create`, and headless Debian chromium driven
by Playwright (never `playwright install`: the browser is the system's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from playwright.sync_api import Browser, Page, sync_playwright
from support.server import free_port

from web.harness import ADMIN_EMAIL, ADMIN_PASSWORD, ANSWER, KawaServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-web") as fake:
        fake.on_model("gpt-4o-mini", Scenario(text=ANSWER, chunk_delay_s=0.02))
        yield fake


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: FakeOpenAI) -> Iterator[KawaServer]:
    home = tmp_path_factory.mktemp("kawa-web")
    config = home / "kawa.toml"
    config.write_text(
        "\n".join(
            [
                "[models]",
                "max_retries = 0",
                "[models.embedded]",
                "chat = false",
                "[models.providers.openai]",
                f'base_url = "{upstream.base_url}"',
                f'api_key = "{upstream.api_key}"',
                'dify_ids = ["langgenius/openai/openai", "langgenius/ollama/ollama"]',
            ]
        )
        + "\n"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(home), KAWA_CONFIG=str(config), KAWA_PORT=str(port), KAWA_LOG_LEVEL="warning")
    created = subprocess.run(
        [sys.executable, "-m", "kawa.cli", "admin", "create", ADMIN_EMAIL],
        env={**env, "KAWA_ADMIN_PASSWORD": ADMIN_PASSWORD},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kawa.cli", "serve", "--workers", "1"], env=env, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            # The login page, not /healthz: on a busy machine another test's server may hold a port we were told
            # was free; only ours serves the console, and ours must still be running.
            if httpx.get(base_url + "/console/login", timeout=2).status_code == 200 and proc.poll() is None:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (home / "serve.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "kawa serve did not start"
        time.sleep(0.2)
    yield KawaServer(base_url=base_url, home=home, env=env, proc=proc)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is required (.ci/run installs it): apt-get install -y chromium")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    yield context.new_page()
    context.close()

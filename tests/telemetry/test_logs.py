"""Structured logs of a real `kawa serve`: JSON lines (stderr is not a terminal) that carry the request id, and on
lines about a run its app, run, task and end user; no API key, provider key or secret reaches them, even when a
client puts its key in a URL or a provider echoes its key back in an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import make_settings
from support.server import free_port

from kawa.telemetry.logs import REDACTED, Redactor

CHATFLOW = Path(__file__).with_name("chatflow-traced.yml")
PROVIDER_KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c"
SECRET_KEY = "file-url-signing-secret-93b1"


def test_log_lines_carry_request_and_run_ids_and_never_a_secret(tmp_path: Path) -> None:
    with FakeOpenAI() as upstream:
        # A provider that echoes the key it was sent, as some do in their 401 bodies.
        upstream.on_model("gpt-4o-mini", Scenario(status=500, error_message=f"bad key {PROVIDER_KEY} for you"))
        settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}")
        app = import_app(settings, CHATFLOW)
        port = free_port()
        env = {
            **os.environ,
            "KAWA_HOME": str(tmp_path),
            "KAWA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}",
            "KAWA_PORT": str(port),
            "KAWA_SECRET_KEY": SECRET_KEY,
            "KAWA_MODELS__PROVIDERS__OPENAI__BASE_URL": upstream.base_url,
            "KAWA_MODELS__PROVIDERS__OPENAI__API_KEY": PROVIDER_KEY,
            "KAWA_MODELS__MAX_RETRIES": "0",
            "KAWA_MODELS__EMBEDDED__CHAT": "false",
            "KAWA_SANDBOX__JAVASCRIPT_WORKERS": "0",
        }
        log_path = tmp_path / "server.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "kawa.cli", "serve", "--workers", "1"], env=env, stdout=log, stderr=log
            )
            try:
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if httpx.get(base + "/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                    time.sleep(0.2)
                headers = {"Authorization": f"Bearer {app.api_key}"}
                answer = httpx.post(
                    base + f"/v1/chat-messages?api_key={app.api_key}",  # a client that also put its key in the URL
                    headers=headers,
                    json={"query": "hello", "inputs": {}, "user": "ada@example.com", "response_mode": "blocking"},
                    timeout=60,
                )
                refused = httpx.get(
                    base + "/v1/info", headers={"Authorization": "Bearer app-wrongwrongwrongwrongwrong"}
                )
            finally:
                server.terminate()
                server.wait(timeout=60)
    text = log_path.read_text()
    assert refused.status_code == 401
    request_id = answer.headers["x-request-id"]
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines, text[-2000:]
    about_run = [line for line in lines if line.get("run_id")]
    assert about_run, "no log line about the run"
    for line in about_run:
        assert line["app_id"] == app.app_id and line["request_id"] == request_id, line
        assert line["task_id"] and line["end_user"] == "ada@example.com", line
    failure = next(line for line in about_run if "model call failed" in line["message"])
    assert "bad key" in failure["message"] and PROVIDER_KEY not in failure["message"]
    access = [line for line in lines if line["logger"] == "uvicorn.access" and "chat-messages" in line["message"]]
    assert access and access[0]["request_id"] == request_id and REDACTED in access[0]["message"]
    for secret in (app.api_key, PROVIDER_KEY, SECRET_KEY, "app-wrongwrongwrongwrongwrong", "sekrit-vendor-token"):
        assert secret not in text, f"{secret} was logged"


def test_the_redactor_masks_key_shapes_and_given_secrets() -> None:
    redact = Redactor(["hunter22", "x"])  # too short a value is not a secret worth masking everywhere
    line = (
        "Bearer abc.def app-AbCdEfGhIjKlMnOpQrStUvWx dataset-AbCdEfGhIjKlMnOpQrStUvWx sk-proj-abcdefghijkl hunter22 x"
    )
    assert redact(line) == f"Bearer {REDACTED} {REDACTED} {REDACTED} {REDACTED} {REDACTED} x"

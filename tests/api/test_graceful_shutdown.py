"""SIGTERM to `kawa serve`: no new connections, runs in progress finish within `shutdown_grace_s`, and those that
cannot are recorded failed with a reason while their streams end with an `error` event (defect 10).

A real `kawa serve` process on SQLite and PostgreSQL; chat messages go to the fake OpenAI server on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import make_settings
from support.server import free_port
from support.sse import iter_events

from kawa.settings import Settings

KAWA = [sys.executable, "-m", "kawa.cli"]
API_KEY = "sk-upstream-test-key"
SERVER_STOPPED = "The server stopped while this run was in progress."
MESSAGE_STOPPED = "The server stopped while this message was in progress."


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


class Served:
    def __init__(self, settings: Settings, upstream: FakeOpenAI, grace_s: float) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
        env.update(
            KAWA_HOME=str(settings.home),
            KAWA_DATABASE_URL=str(settings.database_url),
            KAWA_SHUTDOWN_GRACE_S=str(grace_s),
            KAWA_MODELS__PROVIDERS__OPENAI__BASE_URL=upstream.base_url,
            KAWA_MODELS__PROVIDERS__OPENAI__API_KEY=API_KEY,
            KAWA_MODELS__MAX_RETRIES="0",
            KAWA_MODELS__EMBEDDED__CHAT="false",
        )
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*KAWA, "serve", "--port", str(self.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base_url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "kawa serve did not start"
            time.sleep(0.1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, app: ImportedApp) -> httpx.Client:
        headers = {"Authorization": f"Bearer {app.api_key}"}
        return httpx.Client(base_url=f"{self.base_url}/v1", headers=headers, timeout=60)

    def terminate_when(self, ready: threading.Event) -> threading.Thread:
        def send() -> None:
            ready.wait(30)
            self.proc.send_signal(signal.SIGTERM)

        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def home_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", database_url)


def stream(client: httpx.Client, path: str, body: dict[str, Any], started: threading.Event) -> list[dict[str, Any]]:
    """Every event of one stream; sets `started` at the first."""
    events: list[dict[str, Any]] = []
    with client.stream("POST", path, json={**body, "response_mode": "streaming"}) as response:
        assert response.status_code == 200
        for event in iter_events(response):
            events.append(event)
            started.set()
    return events


def test_a_run_that_ends_within_the_grace_period_finishes_normally(
    home_settings: Settings, upstream: FakeOpenAI
) -> None:
    app = import_app(home_settings, "workflow-slow.yml")
    served = Served(home_settings, upstream, grace_s=20)
    try:
        started = threading.Event()
        served.terminate_when(started)
        with served.client(app) as client:
            events = stream(client, "/workflows/run", {"inputs": {"seconds": 2}, "user": "u"}, started)
        exit_code = served.proc.wait(timeout=30)
        with pytest.raises(httpx.ConnectError):  # it no longer accepts connections
            httpx.get(f"{served.base_url}/healthz")
    finally:
        served.close()

    assert events[-1]["event"] == "workflow_finished"
    assert events[-1]["data"]["status"] == "succeeded"
    assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down cleanly


def test_runs_and_messages_past_the_deadline_end_with_an_error_event_and_a_failed_record(
    home_settings: Settings, upstream: FakeOpenAI
) -> None:
    upstream.on_model("gpt-4o-mini", Scenario(text=" ".join(f"w{i}" for i in range(100)), chunk_delay_s=0.2))
    workflow = import_app(home_settings, "workflow-slow.yml")
    chat = import_app(home_settings, "chat-assistant.yml")
    served = Served(home_settings, upstream, grace_s=1)
    results: dict[str, list[dict[str, Any]]] = {}
    run_started, message_started = threading.Event(), threading.Event()
    both_started = threading.Event()

    def run_stream() -> None:
        with served.client(workflow) as client:
            results["run"] = stream(client, "/workflows/run", {"inputs": {"seconds": 12}, "user": "u"}, run_started)

    def message_stream() -> None:
        body = {"query": "Weather?", "inputs": {"unit": "celsius"}, "user": "u", "auto_generate_name": False}
        with served.client(chat) as client:
            results["message"] = stream(client, "/chat-messages", body, message_started)

    try:
        threads = [threading.Thread(target=run_stream), threading.Thread(target=message_stream)]
        for thread in threads:
            thread.start()
        assert run_started.wait(30) and message_started.wait(30)
        both_started.set()
        signalled = time.monotonic()
        served.terminate_when(both_started)
        for thread in threads:
            thread.join(timeout=30)
        exit_code = served.proc.wait(timeout=30)
        shutdown_s = time.monotonic() - signalled
    finally:
        served.close()

    run_events, message_events = results["run"], results["message"]
    assert [e["event"] for e in run_events[-2:]] == ["error", "workflow_finished"]
    assert run_events[-2]["message"] == SERVER_STOPPED
    assert run_events[-1]["data"]["status"] == "failed" and run_events[-1]["data"]["error"] == SERVER_STOPPED
    assert message_events[-1]["event"] == "error" and message_events[-1]["message"] == MESSAGE_STOPPED
    assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down cleanly
    assert shutdown_s < 10, f"shutdown took {shutdown_s:.1f}s with a 1 s grace period"

    restarted = Served(home_settings, upstream, grace_s=1)
    try:
        with restarted.client(workflow) as client:
            record = client.get(f"/workflows/run/{run_events[-1]['workflow_run_id']}").json()
        with restarted.client(chat) as client:
            conversation_id = message_events[-1]["conversation_id"]
            messages = client.get("/messages", params={"conversation_id": conversation_id, "user": "u"}).json()
    finally:
        restarted.close()
    assert (record["status"], record["error"]) == ("failed", SERVER_STOPPED)
    assert messages["data"][-1]["status"] == "error" and messages["data"][-1]["error"] == MESSAGE_STOPPED

"""`/metrics` of a real server: requests by route template, runs by app and status, nodes by type, model calls with
tokens and time to first token, sandbox and database pools; an optional bearer token; and values summed over
the workers of `kawa serve --workers N` (one PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from prometheus_client.parser import text_string_to_metric_families
from support.apps import import_app
from support.clients import make_settings
from support.server import RunningServer, free_port, start_server
from support.upstream import upstream_models

CHATFLOW = Path(__file__).with_name("chatflow-traced.yml")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        fake.on_model("gpt-4o-mini", Scenario(text="Six, as asked.", chunk_delay_s=0.01))
        yield fake


@pytest.fixture
def served(tmp_path: Path, upstream: FakeOpenAI) -> Iterator[tuple[RunningServer, str, str]]:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}", models=upstream_models(upstream))
    chat_app = import_app(settings, CHATFLOW)
    workflow_app = import_app(settings, "workflow-hello.yml")
    server = start_server(settings)
    try:
        yield server, chat_app.api_key, workflow_app.api_key
    finally:
        server.stop()


def test_metrics_count_requests_runs_nodes_and_model_calls(served: tuple[RunningServer, str, str]) -> None:
    server, chat_key, workflow_key = served
    for _ in range(2):
        answer = httpx.post(
            server.api_url + "/chat-messages",
            headers={"Authorization": f"Bearer {chat_key}"},
            json={"query": "hello", "inputs": {}, "user": "ada", "response_mode": "blocking"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
    streamed = httpx.post(
        server.api_url + "/workflows/run",
        headers={"Authorization": f"Bearer {workflow_key}"},
        json={"inputs": {"name": "Ada"}, "user": "ada", "response_mode": "streaming"},
        timeout=60,
    )
    assert streamed.status_code == 200
    assert httpx.get(server.api_url + "/no/such/route/123").status_code == 404
    scrape = httpx.get(server.base_url + "/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text

    chat_route = {"method": "POST", "route": "/v1/chat-messages"}
    assert value(text, "kawa_http_requests_total", **chat_route, status="200") == 2
    assert value(text, "kawa_http_request_duration_seconds_count", **chat_route) == 2
    assert value(text, "kawa_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(text, "kawa_active_streams") == 0 and value(text, "kawa_active_runs") == 0
    runs = {dict(labels)["app_id"]: v for (name, labels), v in samples(text).items() if name == "kawa_runs_total"}
    assert sorted(runs.values()) == [1, 2]  # the workflow run, the two chatflow runs
    assert value(text, "kawa_node_executions_total", type="llm", status="succeeded") == 2
    assert value(text, "kawa_node_executions_total", type="code", status="succeeded") == 2
    assert value(text, "kawa_node_duration_seconds_count", type="tool") == 2
    model = {"provider": "openai", "model": "gpt-4o-mini"}
    assert value(text, "kawa_llm_calls_total", **model, outcome="ok") == 2
    assert value(text, "kawa_llm_tokens_total", **model, kind="prompt") > 0
    assert value(text, "kawa_llm_tokens_total", **model, kind="completion") > 0
    assert value(text, "kawa_llm_time_to_first_token_seconds_count", **model) == 2
    assert value(text, "kawa_tool_calls_total", provider="math", tool="eval_expression", outcome="ok") == 2
    assert value(text, "kawa_sandbox_runs_total", language="python3", outcome="ok") == 2
    assert value(text, "kawa_sandbox_workers", language="python3", state="slots") >= 1
    assert ("kawa_db_pool_connections", frozenset({("state", "checked_out")})) in samples(text)
    assert ("kawa_queue_depth", frozenset({("queue", "indexing")})) in samples(text)


def test_a_model_failure_is_counted_by_its_dify_code(tmp_path: Path, upstream: FakeOpenAI) -> None:
    upstream.on_model("gpt-4o-mini", Scenario(status=429, error_message="slow down"))
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}", models=upstream_models(upstream))
    app = import_app(settings, CHATFLOW)
    server = start_server(settings)
    try:
        httpx.post(
            server.api_url + "/chat-messages",
            headers={"Authorization": f"Bearer {app.api_key}"},
            json={"query": "hello", "inputs": {}, "user": "ada", "response_mode": "blocking"},
            timeout=60,
        )
        text = httpx.get(server.base_url + "/metrics").text
    finally:
        server.stop()
    model = {"provider": "openai", "model": "gpt-4o-mini"}
    assert value(text, "kawa_llm_calls_total", **model, outcome="rate_limit_error") == 1
    assert value(text, "kawa_node_executions_total", type="llm", status="failed") == 1


def test_the_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}", telemetry={"metrics_token": "scrape-me-please"}
    )
    server = start_server(settings)
    try:
        refused = httpx.get(server.base_url + "/metrics")
        wrong = httpx.get(server.base_url + "/metrics", headers={"Authorization": "Bearer nope"})
        allowed = httpx.get(server.base_url + "/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    finally:
        server.stop()
    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.json() == {"code": "unauthorized", "message": "Access token is invalid", "status": 401}
    assert allowed.status_code == 200 and "kawa_http_requests_total" in allowed.text


def _serve_workers(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "KAWA_HOME": str(home),
        "KAWA_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'kawa.db'}",
        "KAWA_PORT": str(port),
        "KAWA_SANDBOX__PYTHON_WORKERS": "0",  # no code nodes here: a quicker start
        "KAWA_SANDBOX__JAVASCRIPT_WORKERS": "0",
    }
    command = [sys.executable, "-m", "kawa.cli", "serve", "--workers", "2"]
    log = (home / "serve.log").open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _until_up(port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"kawa on port {port} did not start:\n{log.read_text()[-3000:]}")


def test_every_worker_of_kawa_serve_workers_answers_for_all_of_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}")
    app = import_app(settings, "workflow-hello.yml")
    port = free_port()
    server = _serve_workers(tmp_path, port)
    try:
        _until_up(port, tmp_path / "serve.log")
        for _ in range(6):  # a new connection each: the parent hands them to the workers in turn
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/workflows/run",
                headers={"Authorization": f"Bearer {app.api_key}"},
                json={"inputs": {"name": "Ada"}, "user": "ada"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
        texts = [httpx.get(f"http://127.0.0.1:{port}/metrics").text for _ in range(4)]
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert (tmp_path / "prometheus").is_dir()  # the parent's multiprocess directory, in KAWA_HOME
    for text in texts:  # whichever worker answers, it answers for both
        assert value(text, "kawa_runs_total", app_id=app.app_id, status="succeeded") == 6
        route = {"method": "POST", "route": "/v1/workflows/run", "status": "200"}
        assert value(text, "kawa_http_requests_total", **route) == 6

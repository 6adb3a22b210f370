"""`max_active_requests` limits an app's concurrent messages, not only its workflow runs (Dify's app rate limit).

A real server with the limit at 1, an easy-UI chat app on the fake OpenAI upstream on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import iter_events
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"
SLOW_ANSWER = Scenario(text=" ".join(f"word{i}" for i in range(40)), chunk_delay_s=0.02)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def limited_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, timeout_s=5.0)
    home = tmp_path_factory.mktemp("limited-home")
    server = start_server(make_settings(home, database_url, models=models, max_active_requests=1))
    yield server
    server.stop()


@pytest.fixture
def chat(limited_server: RunningServer, upstream: FakeOpenAI) -> Iterator[httpx.Client]:
    upstream.reset()
    app: ImportedApp = import_app(limited_server.settings, "chat-assistant.yml")
    with client_for(limited_server, app.api_key) as client:
        yield client


def message(query: str, **extra: object) -> dict[str, object]:
    return {"query": query, "inputs": {"unit": "celsius"}, "user": "alice", "auto_generate_name": False, **extra}


def test_a_chat_message_over_the_limit_is_429_while_another_is_in_flight(
    chat: httpx.Client, upstream: FakeOpenAI
) -> None:
    upstream.on_model("gpt-4o-mini", SLOW_ANSWER)
    request = chat.build_request("POST", "/chat-messages", json=message("Long?", response_mode="streaming"))
    first = chat.send(request, stream=True)
    try:
        events = iter_events(first)
        assert next(e for e in events if e["event"] == "message")  # the first message is in flight

        refused = chat.post("/chat-messages", json=message("Me too?"))

        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "too_many_requests"
        assert list(events)[-1]["event"] == "message_end"
    finally:
        first.close()


def test_the_slot_is_free_again_once_the_message_has_ended(chat: httpx.Client, upstream: FakeOpenAI) -> None:
    upstream.on_model("gpt-4o-mini", SLOW_ANSWER)
    assert chat.post("/chat-messages", json=message("One?")).status_code == 200

    after = chat.post("/chat-messages", json=message("Two?"))

    assert after.status_code == 200, after.text
    assert after.json()["answer"].startswith("word0")


def test_a_message_refused_before_it_started_gives_its_slot_back(chat: httpx.Client) -> None:
    missing = chat.post("/chat-messages", json=message("Hi", conversation_id="00000000-0000-0000-0000-000000000000"))
    assert missing.status_code == 404

    after = chat.post("/chat-messages", json=message("Hi"))

    assert after.status_code == 200, after.text


def test_a_workflow_run_over_the_limit_is_429_while_another_runs(limited_server: RunningServer) -> None:
    app = import_app(limited_server.settings, "workflow-slow.yml")
    body = {"inputs": {"seconds": 0.5}, "user": "alice"}
    with client_for(limited_server, app.api_key) as client:
        first = client.send(
            client.build_request("POST", "/workflows/run", json={**body, "response_mode": "streaming"}), stream=True
        )
        try:
            events = iter_events(first)
            assert next(events)["event"] == "workflow_started"

            refused = client.post("/workflows/run", json=body)

            assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
            assert list(events)[-1]["event"] == "workflow_finished"
        finally:
            first.close()
        assert client.post("/workflows/run", json=body).status_code == 200

"""Chat, completion and agent-chat apps through a real server, with a protocol-faithful OpenAI upstream on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import iter_events, stream_events
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(upstream: FakeOpenAI) -> FakeOpenAI:
    upstream.reset()
    return upstream


@pytest.fixture(scope="module")
def model_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, aliases={"*/llama3.2": "openai/llama3.2"}, timeout_s=5.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("chat-home"), database_url, models=models))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chat_app(model_server: RunningServer) -> ImportedApp:
    return import_app(model_server.settings, "chat-assistant.yml")


@pytest.fixture
def chat(model_server: RunningServer, chat_app: ImportedApp) -> Iterator[httpx.Client]:
    with client_for(model_server, chat_app.api_key) as client:
        yield client


def send(client: httpx.Client, query: str, cid: str = "", user: str = "alice", **extra: object) -> dict:
    response = client.post(
        "/chat-messages",
        json={
            "query": query,
            "inputs": {"unit": "celsius"},
            "user": user,
            "conversation_id": cid,
            "auto_generate_name": False,
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def chat_requests(fake: FakeOpenAI) -> list[dict]:
    return [r.body for r in fake.requests if r.path.endswith("/chat/completions")]


def test_third_turn_sees_the_first_two(chat: httpx.Client, fake: FakeOpenAI) -> None:
    fake.on_model_in_turn("gpt-4o-mini", [Scenario(text="Sunny."), Scenario(text="Windy."), Scenario(text="Cold.")])
    first = send(chat, "Weather today?")
    cid = first["conversation_id"]
    assert first["answer"] == "Sunny."
    assert send(chat, "And tomorrow?", cid)["answer"] == "Windy."
    assert send(chat, "And next week?", cid)["answer"] == "Cold."
    messages = chat_requests(fake)[-1]["messages"]
    assert messages[0]["role"] == "system" and "Answer in celsius" in messages[0]["content"]
    turns = [(m["role"], m["content"]) for m in messages[1:]]
    assert turns == [
        ("user", "Weather today?"),
        ("assistant", "Sunny."),
        ("user", "And tomorrow?"),
        ("assistant", "Windy."),
        ("user", "And next week?"),
    ]


def test_blocking_answer_carries_usage(chat: httpx.Client, fake: FakeOpenAI) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="It will rain."))
    body = send(chat, "Rain?")
    assert body["event"] == "message" and body["mode"] == "chat" and body["answer"] == "It will rain."
    usage = body["metadata"]["usage"]
    assert usage["total_tokens"] > 0 and usage["prompt_tokens"] > 0
    assert isinstance(usage["total_price"], str) and usage["currency"]


def test_streaming_sends_messages_then_message_end(chat: httpx.Client, fake: FakeOpenAI) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Clear skies all day long."))
    _, events = stream_events(
        chat,
        "/chat-messages",
        {"query": "Sky?", "inputs": {"unit": "celsius"}, "user": "alice", "response_mode": "streaming"},
    )
    names = [e["event"] for e in events]
    assert names[-1] == "message_end" and names.count("message") >= 2
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "Clear skies all day long."
    assert all(e["conversation_id"] == events[0]["conversation_id"] for e in events)
    assert events[-1]["metadata"]["usage"]["total_tokens"] > 0


def test_stop_mid_stream_keeps_the_partial_answer(chat: httpx.Client, fake: FakeOpenAI) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text=" ".join(f"word{i}" for i in range(200)), chunk_delay_s=0.05))
    request = chat.build_request(
        "POST",
        "/chat-messages",
        json={"query": "Long?", "inputs": {"unit": "celsius"}, "user": "alice", "response_mode": "streaming"},
    )
    response = chat.send(request, stream=True)
    try:
        events = iter_events(response)
        received = ""
        for event in events:
            if event["event"] == "message":
                received += event["answer"]
                if len(received) > 20:
                    break
        started = time.perf_counter()
        assert chat.post(f"/chat-messages/{event['task_id']}/stop", json={"user": "alice"}).status_code == 200
        rest = list(events)
        elapsed = time.perf_counter() - started
    finally:
        response.close()
    received += "".join(e["answer"] for e in rest if e["event"] == "message")
    assert rest[-1]["event"] == "message_end" and elapsed < 0.5
    history = chat.get("/messages", params={"conversation_id": event["conversation_id"], "user": "alice"}).json()
    stored = history["data"][-1]
    assert stored["status"] == "stopped" and stored["answer"] == received and 20 < len(received) < 1400
    assert fake.wait_stream_ended(timeout=2)


def test_upstream_429_is_rate_limit_error(chat: httpx.Client, fake: FakeOpenAI) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, error_message="Rate limit reached"))
    response = chat.post("/chat-messages", json={"query": "x", "inputs": {"unit": "celsius"}, "user": "alice"})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "rate_limit_error" and "Rate limit reached" in body["message"]
    assert API_KEY not in response.text
    _, events = stream_events(
        chat,
        "/chat-messages",
        {"query": "x", "inputs": {"unit": "celsius"}, "user": "alice", "response_mode": "streaming"},
    )
    assert events[-1]["event"] == "error" and events[-1]["code"] == "rate_limit_error"
    assert events[-1]["status"] == 429
    cid = events[-1]["conversation_id"]
    stored = chat.get("/messages", params={"conversation_id": cid, "user": "alice"}).json()["data"][-1]
    assert stored["status"] == "error" and "Rate limit reached" in stored["error"]


def test_suggested_questions_come_from_the_model(chat: httpx.Client, fake: FakeOpenAI) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Fine."))
    message_id = send(chat, "Hi")["message_id"]
    fake.on_model("gpt-4o-mini", Scenario(text='["Will it snow?", "Is it humid?", "Any storms?"]'))
    body = chat.get(f"/messages/{message_id}/suggested", params={"user": "alice"}).json()
    assert body == {"result": "success", "data": ["Will it snow?", "Is it humid?", "Any storms?"]}


def test_unconfigured_provider_is_provider_not_initialize(model_server: RunningServer) -> None:
    text = (
        (FIXTURES / "completion-writer.yml")
        .read_text()
        .replace("langgenius/ollama/ollama", "langgenius/anthropic/anthropic")
    )
    app = import_app(model_server.settings, text.replace("name: llama3.2", "name: claude-3-haiku"))
    with client_for(model_server, app.api_key) as client:
        response = client.post("/completion-messages", json={"inputs": {"product": "a", "facts": "b"}, "user": "u"})
    assert response.status_code == 400 and response.json()["code"] == "provider_not_initialize"
    assert "anthropic" in response.json()["message"]


def test_completion_app_through_a_model_alias(model_server: RunningServer, fake: FakeOpenAI) -> None:
    app = import_app(model_server.settings, "completion-writer.yml")
    fake.on_model("llama3.2", Scenario(text="A kettle that sings."))
    with client_for(model_server, app.api_key) as client:
        inputs = {"product": "Kettle", "facts": "boils fast"}
        body = client.post("/completion-messages", json={"inputs": inputs, "user": "u"}).json()
        assert body.get("answer") == "A kettle that sings." and "conversation_id" not in body, body
        assert "Kettle" in json.dumps(chat_requests(fake)[-1]["messages"])
        _, events = stream_events(
            client, "/completion-messages", {"inputs": inputs, "user": "u", "response_mode": "streaming"}
        )
        assert events[-1]["event"] == "message_end" and all("conversation_id" not in e for e in events)
        calls = len(chat_requests(fake))
        moderated = client.post(
            "/completion-messages", json={"inputs": {"product": "secret plans", "facts": "x"}, "user": "u"}
        ).json()
        assert moderated["answer"] == "I cannot write that." and len(chat_requests(fake)) == calls
        assert (
            client.post("/chat-messages", json={"query": "x", "inputs": {}, "user": "u"}).json()["code"]
            == "not_chat_app"
        )


def test_agent_uses_tools_and_streams_thoughts(model_server: RunningServer, fake: FakeOpenAI) -> None:
    app = import_app(model_server.settings, "agent-tools.yml")
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [
            Scenario(text="", tool_calls=[("eval_expression", {"expression": "6*7"})]),
            Scenario(text="The answer is 42."),
        ],
    )
    with client_for(model_server, app.api_key) as client:
        blocking = client.post("/chat-messages", json={"query": "6 times 7?", "inputs": {}, "user": "u"})
        assert blocking.status_code == 400
        assert blocking.json()["message"] == "Agent Chat App does not support blocking mode"
        _, events = stream_events(
            client,
            "/chat-messages",
            {
                "query": "6 times 7?",
                "inputs": {},
                "user": "u",
                "response_mode": "streaming",
                "auto_generate_name": False,
            },
        )
        names = [e["event"] for e in events]
        assert "agent_thought" in names and "agent_message" in names and names[-1] == "message_end"
        thoughts = [e for e in events if e["event"] == "agent_thought"]
        assert any(t["tool"] == "eval_expression" and "42" in t["observation"] for t in thoughts)
        answer = "".join(e["answer"] for e in events if e["event"] == "agent_message")
        assert answer == "The answer is 42."
        history = client.get("/messages", params={"conversation_id": events[0]["conversation_id"], "user": "u"})
        stored = history.json()["data"][-1]
        assert stored["answer"] == "The answer is 42." and stored["agent_thoughts"]
        assert stored["agent_thoughts"][0]["tool"] == "eval_expression"

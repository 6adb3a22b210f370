"""What a client sees when the model upstream fails: Dify's code with an honest status in blocking replies, in SSE
`error` events, in chatflow messages and in workflow node errors. A real server, the fake upstream on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"
MODEL = "gpt-4o-mini"
RATE_LIMITED = Scenario(status=429, error_message="Rate limit reached for gpt-4o-mini.", retry_after_s=30)

CHATFLOW = """
app: {mode: advanced-chat, name: Asks the model}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, sourceHandle: source, target: llm, targetHandle: target, type: custom}
    - {id: e2, source: llm, sourceHandle: source, target: answer, targetHandle: target, type: custom}
    nodes:
    - id: start
      type: custom
      data: {type: start, title: Start, variables: []}
    - id: llm
      type: custom
      data:
        type: llm
        title: LLM
        variables: []
        context: {enabled: false, variable_selector: []}
        vision: {enabled: false}
        memory: null
        model: {provider: langgenius/openai/openai, name: gpt-4o-mini, mode: chat, completion_params: {}}
        prompt_template:
        - {id: p1, role: user, text: '{{#sys.query#}}', edition_type: basic}
    - id: answer
      type: custom
      data: {type: answer, title: Answer, answer: '{{#llm.text#}}', variables: []}
"""

WORKFLOW = (
    CHATFLOW.replace("advanced-chat", "workflow")
    .replace(
        "data: {type: answer, title: Answer, answer: '{{#llm.text#}}', variables: []}",
        "data: {type: end, title: End, outputs: [{variable: text, value_selector: [llm, text], value_type: string}]}",
    )
    .replace("{{#sys.query#}}", "Hello")
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, timeout_s=5.0, max_retries=2, retry_backoff_s=0.01, call_deadline_s=3.0)
    running = start_server(make_settings(tmp_path_factory.mktemp("faults-home"), database_url, models=models))
    yield running
    running.stop()


@pytest.fixture
def fake(upstream: FakeOpenAI) -> FakeOpenAI:
    upstream.reset()
    return upstream


def chat_body(mode: str) -> dict[str, object]:
    return {
        "query": "Hi",
        "inputs": {"unit": "celsius"},
        "user": "alice",
        "response_mode": mode,
        "auto_generate_name": False,
    }


def client(server: RunningServer, source: str) -> httpx.Client:
    return client_for(server, import_app(server.settings, source).api_key)


def test_a_rate_limited_chat_answers_429_rate_limit_error_at_once(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(MODEL, RATE_LIMITED)
    with client(server, "chat-assistant.yml") as chat:
        started = time.monotonic()
        reply = chat.post("/chat-messages", json=chat_body("blocking"))
    assert reply.status_code == 429, reply.text
    body = reply.json()
    assert (body["code"], body["status"]) == ("rate_limit_error", 429)
    assert "Rate limit reached for gpt-4o-mini." in body["message"]
    assert time.monotonic() - started < 2  # Retry-After 30 s is past the 3 s deadline: no pointless wait
    assert API_KEY not in reply.text


def test_a_rate_limited_chat_stream_ends_with_a_429_error_event(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(MODEL, RATE_LIMITED)
    with client(server, "chat-assistant.yml") as chat:
        response, events = stream_events(chat, "/chat-messages", chat_body("streaming"))
    assert response.status_code == 200
    error = events[-1]
    assert error["event"] == "error"
    assert (error["code"], error["status"]) == ("rate_limit_error", 429)


def test_an_upstream_500_is_completion_request_error_503(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(MODEL, Scenario(status=500, error_message="The server had an error."))
    with client(server, "chat-assistant.yml") as chat:
        reply = chat.post("/chat-messages", json=chat_body("blocking"))
    assert reply.status_code == 503, reply.text
    assert reply.json()["code"] == "completion_request_error"
    assert len(fake.requests) == 3  # retried twice: the failure was before any output


def test_an_invalid_request_is_completion_request_error_400(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(MODEL, Scenario(status=400, error_message="Invalid 'messages': empty."))
    with client(server, "chat-assistant.yml") as chat:
        reply = chat.post("/chat-messages", json=chat_body("blocking"))
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "completion_request_error"
    assert len(fake.requests) == 1


def test_exhausted_quota_is_provider_quota_exceeded_400(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(
        MODEL, Scenario(status=429, error_code="insufficient_quota", error_message="You exceeded your quota.")
    )
    with client(server, "chat-assistant.yml") as chat:
        reply = chat.post("/chat-messages", json=chat_body("blocking"))
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "provider_quota_exceeded"


def test_a_hung_upstream_holds_a_message_for_the_call_deadline_only(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(MODEL, Scenario(hang_before_headers_s=60))
    with client(server, "chat-assistant.yml") as chat:
        started = time.monotonic()
        reply = chat.post("/chat-messages", json=chat_body("blocking"))
        elapsed = time.monotonic() - started
    assert reply.status_code == 503, reply.text
    assert reply.json()["code"] == "completion_request_error"
    assert "did not answer within 3 s" in reply.json()["message"]
    assert 2.9 < elapsed < 4.5


def test_a_chatflow_whose_model_is_rate_limited_fails_with_rate_limit_error(
    server: RunningServer, fake: FakeOpenAI
) -> None:
    fake.on_model(MODEL, RATE_LIMITED)
    with client(server, CHATFLOW) as chat:
        blocking = chat.post("/chat-messages", json=chat_body("blocking"))
        _, events = stream_events(chat, "/chat-messages", chat_body("streaming"))
    assert blocking.status_code == 429, blocking.text
    assert blocking.json()["code"] == "rate_limit_error"
    finished = next(e for e in events if e["event"] == "workflow_finished")
    assert finished["data"]["status"] == "failed"
    assert (events[-1]["event"], events[-1]["code"], events[-1]["status"]) == ("error", "rate_limit_error", 429)


def test_a_workflow_node_failure_names_the_rate_limit(server: RunningServer, fake: FakeOpenAI) -> None:
    fake.on_model(MODEL, RATE_LIMITED)
    with client(server, WORKFLOW) as workflow:
        response, events = stream_events(
            workflow, "/workflows/run", {"inputs": {}, "user": "alice", "response_mode": "streaming"}
        )
    assert response.status_code == 200  # a run whose node fails still answers 200, as in Dify
    node = next(e for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "llm")
    assert node["data"]["status"] == "failed"
    assert "Rate limit reached for gpt-4o-mini." in node["data"]["error"]
    assert events[-1]["event"] == "workflow_finished" and events[-1]["data"]["status"] == "failed"

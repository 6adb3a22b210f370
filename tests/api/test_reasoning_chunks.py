"""`reasoning_chunk`: an LLM node with `reasoning_format: separated` streams its model's reasoning as
`reasoning_chunk` events beside the answer, never in it; `tagged` (the default) keeps `<think>` in the answer, as
Dify does. A chatflow and a workflow app against a protocol-faithful OpenAI upstream that sends `reasoning_content`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"
MODEL = "gpt-4o-mini"
REASONING = "The user says hello. A short greeting back will do."
TEXT = "Hello, nice to meet you."


def dsl(mode: str, reasoning_format: str) -> str:
    last = (
        "{type: answer, title: Answer, answer: '{{#llm.text#}}', variables: []}"
        if mode == "advanced-chat"
        else "{type: end, title: End, outputs: [{variable: text, value_selector: [llm, text]}]}"
    )
    return f"""
app: {{mode: {mode}, name: Thinks first}}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {{}}
  graph:
    edges:
    - {{id: e1, source: start, sourceHandle: source, target: llm, targetHandle: target, type: custom}}
    - {{id: e2, source: llm, sourceHandle: source, target: last, targetHandle: target, type: custom}}
    nodes:
    - id: start
      type: custom
      data: {{type: start, title: Start, variables: []}}
    - id: llm
      type: custom
      data:
        type: llm
        title: LLM
        reasoning_format: {reasoning_format}
        variables: []
        context: {{enabled: false, variable_selector: []}}
        vision: {{enabled: false}}
        memory: null
        model: {{provider: langgenius/openai/openai, name: {MODEL}, mode: chat, completion_params: {{}}}}
        prompt_template:
        - {{id: p1, role: user, text: 'Say hello', edition_type: basic}}
    - id: last
      type: custom
      data: {last}
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def model_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, timeout_s=5.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("reasoning-home"), database_url, models=models))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def thinking_model(upstream: FakeOpenAI) -> None:
    upstream.reset()
    upstream.on_model(MODEL, Scenario(text=TEXT, reasoning=REASONING))


def chat_events(server: RunningServer, reasoning_format: str) -> list[dict]:
    app = import_app(server.settings, dsl("advanced-chat", reasoning_format))
    with client_for(server, app.api_key) as client:
        response, events = stream_events(
            client, "/chat-messages", {"query": "hi", "inputs": {}, "user": "u", "response_mode": "streaming"}
        )
    assert response.status_code == 200
    return events


def test_chatflow_separated_reasoning_goes_to_reasoning_chunks(model_server: RunningServer) -> None:
    events = chat_events(model_server, "separated")
    chunks = [e for e in events if e["event"] == "reasoning_chunk"]
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    assert answer == TEXT and "<think>" not in answer
    assert "".join(c["data"]["reasoning"] for c in chunks) == REASONING
    assert [c["data"]["is_final"] for c in chunks][-1] is True and chunks[-1]["data"]["reasoning"] == ""
    message_id = events[-1]["message_id"]
    for chunk in chunks:
        assert set(chunk) >= {"event", "task_id", "message_id", "conversation_id", "created_at", "data"}
        assert chunk["data"]["message_id"] == message_id and chunk["data"]["node_id"] == "llm"
    first_text = next(i for i, e in enumerate(events) if e["event"] == "message")
    assert events.index(chunks[-1]) < first_text  # the reasoning phase ends before the answer starts
    finished = next(e for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "llm")
    assert finished["data"]["outputs"]["reasoning_content"] == REASONING
    assert finished["data"]["outputs"]["text"] == TEXT


def test_chatflow_tagged_reasoning_stays_in_the_answer(model_server: RunningServer) -> None:
    events = chat_events(model_server, "tagged")
    assert not [e for e in events if e["event"] == "reasoning_chunk"]
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    assert answer.startswith("<think>") and REASONING in answer and answer.endswith(TEXT)


def test_workflow_separated_reasoning_chunks_have_the_workflow_shape(model_server: RunningServer) -> None:
    app = import_app(model_server.settings, dsl("workflow", "separated"))
    with client_for(model_server, app.api_key) as client:
        response, events = stream_events(
            client, "/workflows/run", {"inputs": {}, "user": "u", "response_mode": "streaming"}
        )
    assert response.status_code == 200
    chunks = [e for e in events if e["event"] == "reasoning_chunk"]
    run_id = events[0]["workflow_run_id"]
    assert "".join(c["data"]["reasoning"] for c in chunks) == REASONING
    for chunk in chunks:
        assert set(chunk) == {"event", "task_id", "workflow_run_id", "data"} and chunk["workflow_run_id"] == run_id
        assert set(chunk["data"]) == {"reasoning", "node_id", "is_final"}
    text = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
    assert text == TEXT
    assert events[-1]["event"] == "workflow_finished" and events[-1]["data"]["outputs"] == {"text": TEXT}

"""Annotation reply: a query matching an annotation is answered with its answer, and the model is not called; any
other query goes to the model. Real server (SQLite and PostgreSQL), the real embedded embedding model, and a
protocol-faithful OpenAI upstream on loopback that records every model call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events
from support.upstream import upstream_models

from kawa.services import open_services
from kawa.settings import Settings

API_KEY = "sk-upstream-test-key"
MODEL = "gpt-4o-mini"
EMBEDDED = {"embedding_provider_name": "embedded", "embedding_model_name": "multilingual-e5-small"}
QUESTION = "What are your opening hours?"
ANSWER = "We open at nine and close at five."

CHATFLOW = """
app: {mode: advanced-chat, name: Chatflow with a model}
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


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(upstream: FakeOpenAI) -> FakeOpenAI:
    upstream.reset()
    upstream.on_model(MODEL, Scenario(text="The model answered."))
    return upstream


@pytest.fixture(scope="module")
def model_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, aliases={"*/llama3.2": "openai/llama3.2"}, timeout_s=5.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("annotation-home"), database_url, models=models))
    yield server
    server.stop()


def model_calls(fake: FakeOpenAI) -> int:
    return len([r for r in fake.requests if r.path.endswith("/chat/completions")])


def wait_job(client: httpx.Client, action: str, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/apps/annotation-reply/{action}/status/{job_id}").json()
        if status["job_status"] == "completed":
            return
        assert status["job_status"] != "error", status
        time.sleep(0.05)
    raise AssertionError("the job did not complete")


def set_reply(client: httpx.Client, action: str, threshold: float = 0.9) -> None:
    response = client.post(f"/apps/annotation-reply/{action}", json={"score_threshold": threshold, **EMBEDDED})
    assert response.status_code == 200, response.text
    wait_job(client, action, response.json()["job_id"])


@pytest.fixture(scope="module")
def apps(model_server: RunningServer) -> dict[str, ImportedApp]:
    """One app per kind for the module (each test clears its annotations first)."""
    kinds = {"chat": "chat-assistant.yml", "agent": "agent-tools.yml", "chatflow": CHATFLOW}
    return {kind: import_app(model_server.settings, source) for kind, source in kinds.items()}


@contextmanager
def annotated(
    server: RunningServer, app: ImportedApp, *, enable: bool = True
) -> Iterator[tuple[ImportedApp, httpx.Client, str]]:
    """The app with only one annotation (QUESTION → ANSWER), reply enabled unless told; its client."""
    with client_for(server, app.api_key) as client:
        while listed := client.get("/apps/annotations", params={"limit": 100}).json()["data"]:
            for annotation in listed:
                client.delete(f"/apps/annotations/{annotation['id']}")
        created = client.post("/apps/annotations", json={"question": QUESTION, "answer": ANSWER}).json()
        set_reply(client, "enable" if enable else "disable")
        yield app, client, created["id"]


def ask(client: httpx.Client, query: str, *, inputs: dict | None = None) -> dict:
    response = client.post(
        "/chat-messages",
        json={"query": query, "inputs": inputs or {}, "user": "alice", "auto_generate_name": False},
    )
    assert response.status_code == 200, response.text
    return response.json()


def ask_streaming(client: httpx.Client, query: str, *, inputs: dict | None = None) -> list[dict]:
    response, events = stream_events(
        client,
        "/chat-messages",
        {
            "query": query,
            "inputs": inputs or {},
            "user": "alice",
            "response_mode": "streaming",
            "auto_generate_name": False,
        },
    )
    assert response.status_code == 200
    return events


def hit_of(settings: Settings, message_id: str) -> str | None:
    async def work() -> str | None:
        async with open_services(settings, migrate=False) as services:
            return await services.annotations.store.hit_of_message(message_id)

    return asyncio.run(work())


CHAT_INPUTS = {"unit": "celsius"}


def test_chat_hit_answers_from_the_annotation_without_the_model(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chat"]) as (app, client, annotation_id):
        body = ask(client, QUESTION, inputs=CHAT_INPUTS)
        assert model_calls(fake) == 0
        assert body["answer"] == ANSWER
        assert body["metadata"]["annotation_reply"] == {
            "id": annotation_id,
            "account": {"id": app.app_id, "name": "Dify user"},
        }
        assert body["metadata"]["usage"]["total_tokens"] == 0
        listed = client.get("/apps/annotations").json()["data"]
        assert listed[0]["hit_count"] == 1
        assert hit_of(model_server.settings, body["message_id"]) == annotation_id
        history = client.get("/messages", params={"conversation_id": body["conversation_id"], "user": "alice"}).json()
        assert [(m["query"], m["answer"]) for m in history["data"]] == [(QUESTION, ANSWER)]


def test_chat_miss_calls_the_model(model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]) -> None:
    with annotated(model_server, apps["chat"]) as (_, client, _):
        body = ask(client, "Write a short poem about penguins on ice.", inputs=CHAT_INPUTS)
        assert model_calls(fake) == 1
        assert body["answer"] == "The model answered."
        assert body["metadata"]["annotation_reply"] is None
        assert client.get("/apps/annotations").json()["data"][0]["hit_count"] == 0
        assert hit_of(model_server.settings, body["message_id"]) is None


def test_chat_streaming_hit_sends_the_answer_as_message_events(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chat"]) as (_, client, annotation_id):
        events = ask_streaming(client, QUESTION, inputs=CHAT_INPUTS)
    assert model_calls(fake) == 0
    names = [e["event"] for e in events]
    assert names == ["message"] * len(ANSWER) + ["message_end"]  # one character per event, as Dify's direct output
    assert "".join(e["answer"] for e in events[:-1]) == ANSWER
    assert events[-1]["metadata"]["annotation_reply"]["id"] == annotation_id


def test_without_reply_enabled_the_model_answers(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chat"], enable=False) as (_, client, _):
        assert ask(client, QUESTION, inputs=CHAT_INPUTS)["answer"] == "The model answered."
    assert model_calls(fake) == 1


def test_disabling_reply_sends_queries_to_the_model_again(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chat"]) as (_, client, _):
        assert ask(client, QUESTION, inputs=CHAT_INPUTS)["answer"] == ANSWER
        set_reply(client, "disable")
        assert ask(client, QUESTION, inputs=CHAT_INPUTS)["answer"] == "The model answered."
    assert model_calls(fake) == 1


def test_annotations_created_or_changed_while_enabled_are_matched(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chat"]) as (_, client, annotation_id):
        later = client.post(
            "/apps/annotations", json={"question": "Do you ship to Canada?", "answer": "Yes, in 5 days."}
        )
        assert ask(client, "Do you ship to Canada?", inputs=CHAT_INPUTS)["answer"] == "Yes, in 5 days."
        changed = {"question": "Where is your shop located?", "answer": "On Main Street."}
        assert client.put(f"/apps/annotations/{annotation_id}", json=changed).status_code == 200
        assert ask(client, "Where is your shop located?", inputs=CHAT_INPUTS)["answer"] == "On Main Street."
        assert model_calls(fake) == 0
        assert ask(client, QUESTION, inputs=CHAT_INPUTS)["answer"] == "The model answered."  # the old question is gone
        assert client.delete(f"/apps/annotations/{later.json()['id']}").status_code == 204
        assert ask(client, "Do you ship to Canada?", inputs=CHAT_INPUTS)["answer"] == "The model answered."
    assert model_calls(fake) == 2


def test_agent_chat_hit_streams_message_events_without_the_model(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["agent"]) as (_, client, annotation_id):
        events = ask_streaming(client, QUESTION)
    assert model_calls(fake) == 0
    assert {e["event"] for e in events[:-1]} == {"message"} and events[-1]["event"] == "message_end"
    assert "".join(e["answer"] for e in events[:-1]) == ANSWER
    assert events[-1]["metadata"]["annotation_reply"]["id"] == annotation_id


def test_completion_apps_have_no_annotation_reply(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    app = import_app(model_server.settings, "completion-writer.yml")
    with client_for(model_server, app.api_key) as client:
        client.post("/apps/annotations", json={"question": QUESTION, "answer": ANSWER})
        set_reply(client, "enable")
        response = client.post(
            "/completion-messages", json={"inputs": {"product": QUESTION, "facts": "x"}, "query": QUESTION, "user": "u"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["answer"] != ANSWER and model_calls(fake) == 1


def test_chatflow_hit_answers_without_running_the_workflow(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chatflow"]) as (_, client, annotation_id):
        events = ask_streaming(client, QUESTION)
        blocking = ask(client, QUESTION)
    assert model_calls(fake) == 0
    assert [e["event"] for e in events] == ["message", "message_end"]
    assert events[0]["answer"] == ANSWER and events[0]["from_variable_selector"] is None
    assert events[1]["metadata"]["annotation_reply"]["id"] == annotation_id
    assert blocking["answer"] == ANSWER and blocking["metadata"]["annotation_reply"]["id"] == annotation_id


def test_chatflow_miss_runs_the_workflow_and_its_model(
    model_server: RunningServer, fake: FakeOpenAI, apps: dict[str, ImportedApp]
) -> None:
    with annotated(model_server, apps["chatflow"]) as (_, client, _):
        events = ask_streaming(client, "Write a short poem about penguins on ice.")
    assert model_calls(fake) == 1
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started" and "workflow_finished" in names and names[-1] == "message_end"
    assert events[-1]["metadata"]["annotation_reply"] is None

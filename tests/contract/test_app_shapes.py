"""Every app operation kawa serves, driven through a real server on loopback (SQLite and PostgreSQL) with the
loopback fake model server: each JSON answer, each 204 and each byte answer, and every SSE event of every stream,
is validated against Dify's documented shapes (kawa.api.shapes) by the ShapeRecorder."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from api.test_reasoning_chunks import dsl as reasoning_dsl
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import make_settings
from support.server import RunningServer, start_server
from support.upstream import upstream_models

from contract.shape_recorder import ShapeRecorder
from kawa.api.shapes.events import Family

EMBEDDED = {"embedding_provider_name": "embedded", "embedding_model_name": "multilingual-e5-small"}

APP_OPERATIONS = {
    ("GET", "/"),
    ("POST", "/chat-messages"),
    ("POST", "/chat-messages/{task_id}/stop"),
    ("GET", "/messages/{message_id}/suggested"),
    ("POST", "/files/upload"),
    ("GET", "/files/{file_id}/preview"),
    ("GET", "/end-users/{end_user_id}"),
    ("POST", "/messages/{message_id}/feedbacks"),
    ("GET", "/app/feedbacks"),
    ("GET", "/conversations"),
    ("GET", "/messages"),
    ("GET", "/conversations/{conversation_id}/variables"),
    ("POST", "/conversations/{conversation_id}/name"),
    ("PUT", "/conversations/{conversation_id}/variables/{variable_id}"),
    ("DELETE", "/conversations/{conversation_id}"),
    ("POST", "/audio-to-text"),
    ("POST", "/text-to-audio"),
    ("GET", "/info"),
    ("GET", "/parameters"),
    ("GET", "/meta"),
    ("GET", "/site"),
    ("POST", "/apps/annotations"),
    ("GET", "/apps/annotations"),
    ("PUT", "/apps/annotations/{annotation_id}"),
    ("DELETE", "/apps/annotations/{annotation_id}"),
    ("POST", "/apps/annotation-reply/{action}"),
    ("GET", "/apps/annotation-reply/{action}/status/{job_id}"),
    ("GET", "/workflows/run/{workflow_run_id}"),
    ("GET", "/workflows/logs"),
    ("GET", "/workflow/{workflow_run_id}/events"),
    ("POST", "/workflows/run"),
    ("POST", "/workflows/{workflow_id}/run"),
    ("POST", "/workflows/tasks/{task_id}/stop"),
    ("POST", "/completion-messages"),
    ("POST", "/completion-messages/{task_id}/stop"),
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-contract") as fake:
        yield fake


@pytest.fixture(scope="module")
def model_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, aliases={"*/llama3.2": "openai/llama3.2"}, timeout_s=10.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("contract-apps"), database_url, models=models))
    yield server
    server.stop()


def test_every_app_operation_and_event_has_difys_shape(model_server: RunningServer, upstream: FakeOpenAI) -> None:
    recorder = ShapeRecorder()
    settings, url = model_server.settings, model_server.api_url
    hello = import_app(settings, "workflow-hello.yml")
    user = "contract-user"

    with recorder.client(url, hello.api_key) as wf:
        wf.get("/")
        for path in ("/info", "/parameters", "/meta", "/site"):
            wf.get(path)
        blocking = wf.post("/workflows/run", json={"inputs": {"name": "Ada"}, "user": user}).json()
        wf.post(f"/workflows/{hello.workflow_id}/run", json={"inputs": {"name": "Bo"}, "user": user})
        events = recorder.stream(
            wf,
            "POST",
            "/workflows/run",
            "workflow",
            json={"inputs": {"name": "Cy"}, "user": user, "response_mode": "streaming"},
        )
        run_id = events[0]["workflow_run_id"]
        recorder.stream(wf, "GET", f"/workflow/{run_id}/events", "workflow", params={"user": user})
        wf.get(f"/workflows/run/{blocking['workflow_run_id']}")
        wf.get("/workflows/logs")
        wf.post(f"/workflows/tasks/{events[0]['task_id']}/stop", json={"user": user})
        upload = wf.post(
            "/files/upload", files={"file": ("notes.txt", b"hello", "text/plain")}, data={"user": user}
        ).json()
        wf.get(f"/files/{upload['id']}/preview", params={"user": user})
        wf.get(f"/end-users/{upload['created_by']}")

    chat_app = import_app(settings, "chat-assistant.yml")
    upstream.reset()
    with recorder.client(url, chat_app.api_key) as chat:
        body = {"query": "Weather?", "inputs": {"unit": "celsius"}, "user": user, "auto_generate_name": False}
        first = chat.post("/chat-messages", json=body).json()
        cid, mid = first["conversation_id"], first["message_id"]
        events = recorder.stream(
            chat, "POST", "/chat-messages", "chat", json={**body, "conversation_id": cid, "response_mode": "streaming"}
        )
        chat.post(f"/chat-messages/{events[0]['task_id']}/stop", json={"user": user})
        chat.get(f"/messages/{mid}/suggested", params={"user": user})
        chat.post(f"/messages/{mid}/feedbacks", json={"rating": "like", "user": user, "content": "good"})
        chat.get("/app/feedbacks")
        chat.get("/conversations", params={"user": user})
        chat.get("/messages", params={"user": user, "conversation_id": cid})
        chat.post(f"/conversations/{cid}/name", json={"name": "Weather", "user": user})
        chat.post("/text-to-audio", json={"text": "Sunny all day.", "user": user})
        created = chat.post("/apps/annotations", json={"question": "Rain?", "answer": "No rain."}).json()
        chat.get("/apps/annotations")
        chat.put(f"/apps/annotations/{created['id']}", json={"question": "Rain today?", "answer": "None."})
        job = chat.post("/apps/annotation-reply/enable", json={"score_threshold": 0.9, **EMBEDDED}).json()
        chat.get(f"/apps/annotation-reply/enable/status/{job['job_id']}")
        chat.delete(f"/apps/annotations/{created['id']}")
        chat.request("DELETE", f"/conversations/{cid}", json={"user": user})

    agent = import_app(settings, "agent-tools.yml")
    upstream.on_model_in_turn(
        "gpt-4o-mini",
        [Scenario(text="", tool_calls=[("eval_expression", {"expression": "6*7"})]), Scenario(text="It is 42.")],
    )
    with recorder.client(url, agent.api_key) as client:
        body = {"query": "6*7?", "inputs": {}, "user": user, "response_mode": "streaming", "auto_generate_name": False}
        recorder.stream(client, "POST", "/chat-messages", "chat", json=body)
    upstream.reset()

    # an LLM node with `reasoning_format: separated` streams reasoning_chunk events, in a workflow and a chatflow
    upstream.on_model("gpt-4o-mini", Scenario(text="Hello.", reasoning="A greeting will do."))
    cases: tuple[tuple[str, Family], ...] = (("workflow", "workflow"), ("advanced-chat", "chat"))
    for mode, family in cases:
        thinker = import_app(settings, reasoning_dsl(mode, "separated"))
        with recorder.client(url, thinker.api_key) as client:
            think: dict[str, object] = {"inputs": {}, "user": user, "response_mode": "streaming"}
            if mode == "advanced-chat":
                think.update(query="Hi", auto_generate_name=False)
            path = "/workflows/run" if mode == "workflow" else "/chat-messages"
            recorder.stream(client, "POST", path, family, json=think)
    upstream.reset()

    chatflow = import_app(settings, "chatflow-support.yml")
    with recorder.client(url, chatflow.api_key) as client:
        body = {"query": "Hello", "inputs": {}, "user": user, "response_mode": "streaming", "auto_generate_name": False}
        events = recorder.stream(client, "POST", "/chat-messages", "chat", json=body)
        cid = events[0]["conversation_id"]
        variables = client.get(f"/conversations/{cid}/variables", params={"user": user}).json()["data"]
        variable = variables[0]
        value = 3 if variable["value_type"] == "number" else "three"
        client.put(f"/conversations/{cid}/variables/{variable['id']}", json={"value": value, "user": user})

    writer = import_app(settings, "completion-writer.yml")
    with recorder.client(url, writer.api_key) as client:
        body = {"inputs": {"product": "Kettle", "facts": "boils fast"}, "user": user}
        client.post("/completion-messages", json=body)
        events = recorder.stream(
            client, "POST", "/completion-messages", "completion", json={**body, "response_mode": "streaming"}
        )
        client.post(f"/completion-messages/{events[0]['task_id']}/stop", json={"user": user})

    voice = import_app(settings, "workflow-voice.yml")
    with recorder.client(url, voice.api_key) as client:
        spoken = client.post("/text-to-audio", json={"text": "Hello there.", "user": user})
        kind = spoken.headers["content-type"]
        audio_file = ("speech.mp3" if "mpeg" in kind else "speech.wav", spoken.content, kind)
        client.post("/audio-to-text", files={"file": audio_file}, data={"user": user})

    missing = APP_OPERATIONS - set(recorder.operations)
    assert not missing, f"not validated (an answer was an error or never sent): {sorted(missing)}"
    assert not recorder.errors, recorder.errors
    for name in ("workflow_started", "node_started", "node_finished", "workflow_finished", "message", "message_end"):
        assert recorder.events[name], name
    assert recorder.events["agent_thought"] and recorder.events["agent_message"]
    assert recorder.events["reasoning_chunk"]
    print(
        f"\ncontract: {len(recorder.operations)} operations, {recorder.operations.total()} answers, "
        f"{recorder.events.total()} events of {len(recorder.events)} types: {dict(recorder.events)}",
        time.strftime("%H:%M:%S"),
    )

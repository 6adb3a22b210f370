"""Chatflow apps through `/chat-messages`: conversations, conversation variables, Dify's event order, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer
from support.sse import iter_events, stream_events


@pytest.fixture(scope="module")
def support_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chatflow-support.yml")


@pytest.fixture
def chat(server: RunningServer, support_app: ImportedApp) -> Iterator[httpx.Client]:
    with client_for(server, support_app.api_key) as client:
        yield client


def ask(
    client: httpx.Client, query: str, conversation_id: str | None = None, user: str = "alice", **extra: object
) -> dict:
    body = {"query": query, "inputs": {}, "user": user, "conversation_id": conversation_id or "", **extra}
    response = client.post("/chat-messages", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_blocking_answer_has_difys_shape(chat: httpx.Client) -> None:
    body = ask(chat, "hello there")
    assert body["event"] == "message" and body["mode"] == "advanced-chat"
    assert body["answer"] == "Noted (1 questions so far). You asked: hello there"
    assert body["id"] == body["message_id"] and body["conversation_id"] and body["task_id"]
    assert set(body["metadata"]) == {"annotation_reply", "retriever_resources", "usage"}
    assert isinstance(body["created_at"], int)


def test_conversation_variables_persist_across_turns(chat: httpx.Client) -> None:
    first = ask(chat, "what is my tier?")
    cid = first["conversation_id"]
    assert ask(chat, "still there?", cid)["answer"].startswith("Noted (2 questions so far)")
    assert ask(chat, "please upgrade me", cid)["answer"] == "You are now on the pro tier."
    variables = {
        v["name"]: v for v in chat.get(f"/conversations/{cid}/variables", params={"user": "alice"}).json()["data"]
    }
    assert variables["tier"]["value"] == "pro" and variables["turns"]["value"] == "2"  # Dify: a string field
    other = ask(chat, "fresh start")
    assert other["answer"].startswith("Noted (1 questions so far)")


def test_streaming_sends_workflow_events_then_message_end(chat: httpx.Client) -> None:
    response, events = stream_events(
        chat, "/chat-messages", {"query": "hi", "inputs": {}, "user": "alice", "response_mode": "streaming"}
    )
    assert response.status_code == 200
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started"
    assert names[-2:] == ["workflow_finished", "message_end"]
    assert "message" in names and names.index("message") < names.index("workflow_finished")
    text = "".join(e["answer"] for e in events if e["event"] == "message")
    assert text == "Noted (1 questions so far). You asked: hi"
    for event in events:
        assert event["conversation_id"] == events[0]["conversation_id"]
        assert event["message_id"] == events[-1]["id"]
        assert "created_at" in event and event["task_id"] == events[0]["task_id"]
    run_id = events[0]["workflow_run_id"]
    assert chat.get(f"/workflows/run/{run_id}").json()["status"] == "succeeded"


def test_unknown_or_foreign_conversation_is_404(chat: httpx.Client) -> None:
    cid = ask(chat, "mine")["conversation_id"]
    for user, conversation_id in (("mallory", cid), ("alice", "00000000-0000-0000-0000-000000000000")):
        response = chat.post(
            "/chat-messages", json={"query": "x", "inputs": {}, "user": user, "conversation_id": conversation_id}
        )
        assert response.status_code == 404
        assert response.json()["message"] == "Conversation Not Exists."


def test_bad_requests_are_400(chat: httpx.Client) -> None:
    empty = chat.post("/chat-messages", json={"query": " ", "inputs": {}, "user": "a"})
    assert empty.status_code == 400 and empty.json()["message"] == "query is required"
    bad_id = chat.post("/chat-messages", json={"query": "x", "inputs": {}, "user": "a", "conversation_id": "42"})
    assert bad_id.status_code == 400 and "conversation_id must be a valid UUID" in bad_id.json()["message"]
    no_inputs = chat.post("/chat-messages", json={"query": "x", "user": "a"})
    assert no_inputs.status_code == 400 and no_inputs.json()["code"] == "invalid_param"


def test_workflow_routes_refuse_a_chat_app_and_vice_versa(server: RunningServer, chat: httpx.Client) -> None:
    assert chat.post("/workflows/run", json={"inputs": {}, "user": "a"}).json()["code"] == "not_workflow_app"
    app = import_app(server.settings, "workflow-hello.yml")
    with client_for(server, app.api_key) as workflow:
        response = workflow.post("/chat-messages", json={"query": "x", "inputs": {}, "user": "a"})
    assert response.status_code == 400 and response.json()["code"] == "not_chat_app"


@pytest.fixture(scope="module")
def slow_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chatflow-slow.yml")


def test_stop_keeps_the_partial_answer(server: RunningServer, slow_app: ImportedApp) -> None:
    with client_for(server, slow_app.api_key) as client:
        request = client.build_request(
            "POST",
            "/chat-messages",
            json={"query": "sleep 30", "inputs": {}, "user": "alice", "response_mode": "streaming"},
        )
        response = client.send(request, stream=True)
        try:
            events = iter_events(response)
            streamed = ""
            for event in events:
                streamed += event.get("answer", "") if event["event"] == "message" else ""
                if event["event"] == "node_started" and event["data"]["node_type"] == "code":
                    break
            task_id, cid, mid = event["task_id"], event["conversation_id"], event["message_id"]
            started = time.perf_counter()
            stop = client.post(f"/chat-messages/{task_id}/stop", json={"user": "alice"})
            rest = list(events)
            elapsed = time.perf_counter() - started
        finally:
            response.close()
        assert stop.json() == {"result": "success"}
        assert elapsed < 0.1, f"stop took {elapsed * 1000:.1f} ms"
        assert [e["event"] for e in rest][-2:] == ["workflow_finished", "message_end"]
        assert rest[-2]["data"]["status"] == "stopped"
        streamed += "".join(e["answer"] for e in rest if e["event"] == "message")
        assert streamed.startswith("Thinking about sleep 30. ") and "(yes)" not in streamed
        history = client.get("/messages", params={"conversation_id": cid, "user": "alice"}).json()["data"]
        assert [(m["id"], m["status"], m["answer"]) for m in history] == [(mid, "stopped", streamed)]


def test_concurrent_messages_in_one_conversation_are_serialised(server: RunningServer, slow_app: ImportedApp) -> None:
    with client_for(server, slow_app.api_key) as client:
        cid = client.post("/chat-messages", json={"query": "nap 0", "inputs": {}, "user": "bob"}).json()[
            "conversation_id"
        ]
        answers: list[dict] = []

        def send(query: str) -> None:
            answers.append(
                client.post(
                    "/chat-messages", json={"query": query, "inputs": {}, "user": "bob", "conversation_id": cid}
                ).json()
            )

        threads = [threading.Thread(target=send, args=(f"nap {s}",)) for s in ("0.4", "0.2")]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join(timeout=10)
        history = client.get("/messages", params={"conversation_id": cid, "user": "bob"}).json()["data"]
    assert [m["query"] for m in history] == ["nap 0", "nap 0.4", "nap 0.2"]
    assert all(m["status"] == "normal" for m in history)
    assert all(a["answer"].endswith("Done (yes).") for a in answers)

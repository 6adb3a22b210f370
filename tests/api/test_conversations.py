"""Conversations and messages endpoints: paging edges, feedback, rename, delete, variables, isolation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer


@pytest.fixture(scope="module")
def support_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chatflow-support.yml")


@pytest.fixture
def chat(server: RunningServer, support_app: ImportedApp) -> Iterator[httpx.Client]:
    with client_for(server, support_app.api_key) as client:
        yield client


def converse(chat: httpx.Client, turns: int, user: str = "carol") -> tuple[str, list[str]]:
    cid, ids = "", []
    for i in range(turns):
        body = chat.post(
            "/chat-messages", json={"query": f"q{i}", "inputs": {}, "user": user, "conversation_id": cid}
        ).json()
        cid = body["conversation_id"]
        ids.append(body["message_id"])
    return cid, ids


def test_messages_page_backwards_oldest_first(chat: httpx.Client) -> None:
    cid, ids = converse(chat, 5)
    page = chat.get("/messages", params={"conversation_id": cid, "user": "carol", "limit": 2}).json()
    assert [m["id"] for m in page["data"]] == ids[3:] and page["has_more"] is True
    older = chat.get(
        "/messages", params={"conversation_id": cid, "user": "carol", "limit": 2, "first_id": ids[3]}
    ).json()
    assert [m["id"] for m in older["data"]] == ids[1:3] and older["has_more"] is True
    oldest = chat.get(
        "/messages", params={"conversation_id": cid, "user": "carol", "limit": 2, "first_id": ids[1]}
    ).json()
    assert [m["id"] for m in oldest["data"]] == ids[:1] and oldest["has_more"] is False
    none_left = chat.get("/messages", params={"conversation_id": cid, "user": "carol", "first_id": ids[0]}).json()
    assert none_left == {"limit": 20, "has_more": False, "data": []}
    exact = chat.get("/messages", params={"conversation_id": cid, "user": "carol", "limit": 5}).json()
    assert len(exact["data"]) == 5 and exact["has_more"] is False
    message = exact["data"][0]
    assert message["query"] == "q0" and message["status"] == "normal" and message["feedback"] is None
    assert set(message) >= {
        "conversation_id",
        "inputs",
        "answer",
        "retriever_resources",
        "agent_thoughts",
        "message_files",
        "created_at",
        "parent_message_id",
        "error",
    }


def test_messages_errors(chat: httpx.Client) -> None:
    cid, _ = converse(chat, 1)
    unknown_first = chat.get(
        "/messages",
        params={"conversation_id": cid, "user": "carol", "first_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert unknown_first.status_code == 404 and unknown_first.json()["message"] == "First Message Not Exists."
    assert chat.get("/messages", params={"conversation_id": cid, "user": "mallory"}).status_code == 404
    assert chat.get("/messages", params={"conversation_id": "nope", "user": "carol"}).status_code == 400
    assert chat.get("/messages", params={"conversation_id": cid, "user": "carol", "limit": 101}).status_code == 400


def test_feedback_like_change_and_revoke(chat: httpx.Client) -> None:
    cid, ids = converse(chat, 1)
    url = f"/messages/{ids[0]}/feedbacks"
    assert chat.post(url, json={"rating": "like", "user": "carol"}).json() == {"result": "success"}
    assert chat.post(url, json={"rating": "dislike", "user": "carol", "content": "meh"}).status_code == 200
    message = chat.get("/messages", params={"conversation_id": cid, "user": "carol"}).json()["data"][0]
    assert message["feedback"] == {"rating": "dislike"}
    feedbacks = chat.get("/app/feedbacks").json()["data"]
    mine = [f for f in feedbacks if f["message_id"] == ids[0]]
    assert mine[0]["rating"] == "dislike" and mine[0]["content"] == "meh" and "T" in mine[0]["created_at"]
    assert chat.post(url, json={"rating": None, "user": "carol"}).status_code == 200
    assert chat.get("/messages", params={"conversation_id": cid, "user": "carol"}).json()["data"][0]["feedback"] is None
    assert chat.post(url, json={"rating": None, "user": "carol"}).status_code == 400
    foreign = chat.post(url, json={"rating": "like", "user": "mallory"})
    assert foreign.status_code == 404 and foreign.json()["message"] == "Message Not Exists."
    assert chat.post(url, json={"rating": "love", "user": "carol"}).status_code == 400


def test_conversations_list_sort_and_scroll(chat: httpx.Client) -> None:
    ids = [converse(chat, 1, user="dave")[0] for _ in range(3)]
    listed = chat.get("/conversations", params={"user": "dave"}).json()
    assert [c["id"] for c in listed["data"]] == ids[::-1] and listed["has_more"] is False
    first = chat.get("/conversations", params={"user": "dave", "limit": 2, "sort_by": "created_at"}).json()
    assert [c["id"] for c in first["data"]] == ids[:2] and first["has_more"] is True
    rest = chat.get(
        "/conversations", params={"user": "dave", "limit": 2, "sort_by": "created_at", "last_id": ids[1]}
    ).json()
    assert [c["id"] for c in rest["data"]] == ids[2:] and rest["has_more"] is False
    row = listed["data"][0]
    assert row["name"] == "q0" and row["status"] == "normal" and row["introduction"] == "Hello! How can I help?"
    for params in ({"limit": 0}, {"limit": 101}, {"sort_by": "name"}):
        assert chat.get("/conversations", params={"user": "dave", **params}).status_code == 400
    assert chat.get("/conversations", params={"user": "nobody-yet"}).json()["data"] == []


def test_rename_with_name_or_auto_generate(chat: httpx.Client) -> None:
    cid, _ = converse(chat, 1, user="erin")
    renamed = chat.post(f"/conversations/{cid}/name", json={"name": "Billing", "user": "erin"}).json()
    assert renamed["name"] == "Billing" and renamed["id"] == cid
    auto = chat.post(f"/conversations/{cid}/name", json={"auto_generate": True, "user": "erin"}).json()
    assert auto["name"] == "q0"
    missing = chat.post(f"/conversations/{cid}/name", json={"user": "erin"})
    assert missing.status_code == 400 and missing.json()["message"] == "name is required when auto_generate is false"
    assert chat.post(f"/conversations/{cid}/name", json={"name": "x", "user": "mallory"}).status_code == 404


def test_delete_is_204_and_scoped(chat: httpx.Client) -> None:
    cid, _ = converse(chat, 1, user="fay")
    assert chat.request("DELETE", f"/conversations/{cid}", json={"user": "mallory"}).status_code == 404
    response = chat.request("DELETE", f"/conversations/{cid}", json={"user": "fay"})
    assert response.status_code == 204 and response.content == b""
    assert chat.get("/messages", params={"conversation_id": cid, "user": "fay"}).status_code == 404


def test_conversation_variables_read_and_write(chat: httpx.Client) -> None:
    cid, _ = converse(chat, 1, user="gus")
    listed = chat.get(f"/conversations/{cid}/variables", params={"user": "gus"}).json()
    by_name = {v["name"]: v for v in listed["data"]}
    assert by_name["tier"]["value"] == "free" and by_name["tier"]["value_type"] == "string"
    tier_id = by_name["tier"]["id"]
    updated = chat.put(f"/conversations/{cid}/variables/{tier_id}", json={"value": "gold", "user": "gus"}).json()
    assert updated["value"] == "gold"
    answer = chat.post(
        "/chat-messages", json={"query": "upgrade", "inputs": {}, "user": "gus", "conversation_id": cid}
    ).json()["answer"]
    assert answer == "You are now on the pro tier."
    wrong = chat.put(f"/conversations/{cid}/variables/{tier_id}", json={"value": 5, "user": "gus"})
    assert wrong.status_code == 400
    unknown = chat.put(f"/conversations/{cid}/variables/nope", json={"value": "x", "user": "gus"})
    assert unknown.status_code == 404 and unknown.json()["message"] == "Conversation Variable Not Exists."
    filtered = chat.get(f"/conversations/{cid}/variables", params={"user": "gus", "variable_name": "tur"}).json()
    assert [v["name"] for v in filtered["data"]] == ["turns"]


def test_suggested_questions_disabled_is_400(chat: httpx.Client) -> None:
    _, ids = converse(chat, 1, user="hal")
    response = chat.get(f"/messages/{ids[0]}/suggested", params={"user": "hal"})
    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "message": "Suggested Questions Is Disabled.", "status": 400}


def test_another_apps_key_sees_nothing(server: RunningServer, chat: httpx.Client) -> None:
    cid, ids = converse(chat, 1, user="ivy")
    other = import_app(server.settings, "chatflow-support.yml")
    with client_for(server, other.api_key) as stranger:
        assert stranger.get("/messages", params={"conversation_id": cid, "user": "ivy"}).status_code == 404
        assert stranger.get("/conversations", params={"user": "ivy"}).json()["data"] == []
        assert stranger.post(f"/messages/{ids[0]}/feedbacks", json={"rating": "like", "user": "ivy"}).status_code == 404

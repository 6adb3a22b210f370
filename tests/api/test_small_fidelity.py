"""Small differences from Dify that strict clients notice: each answer here is the one Dify gives."""

from __future__ import annotations

import httpx
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer


def chat_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chatflow-support.yml")


def test_a_huge_feedback_page_is_400_not_500(server: RunningServer) -> None:
    with client_for(server, chat_app(server).api_key) as client:
        response = client.get("/app/feedbacks", params={"page": "9999999999999999999"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_param"


def test_json_that_is_not_utf8_is_bad_request(hello_client: httpx.Client) -> None:
    response = hello_client.post(
        "/workflows/run",
        content=b'{"inputs": {"name": "\xff\xfe"}, "user": "a"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {
        "code": "bad_request",
        "message": "The browser (or proxy) sent a request that this server could not understand.",
        "status": 400,
    }


def test_workflow_logs_name_the_end_user_type_service_api(hello_client: httpx.Client) -> None:
    assert (
        hello_client.post(
            "/workflows/run", json={"inputs": {"name": "Ada"}, "user": "log-reader", "response_mode": "blocking"}
        ).status_code
        == 200
    )
    logs = hello_client.get("/workflows/logs", params={"created_by_end_user_session_id": "log-reader"}).json()
    assert logs["data"] and logs["data"][0]["created_by_end_user"]["type"] == "service-api"


def test_an_unknown_last_id_on_conversations_is_404(server: RunningServer) -> None:
    with client_for(server, chat_app(server).api_key) as client:
        assert (
            client.post(
                "/chat-messages", json={"query": "hi", "inputs": {}, "user": "carol", "response_mode": "blocking"}
            ).status_code
            == 200
        )
        for user in ("carol", "someone-new"):
            response = client.get(
                "/conversations", params={"user": user, "last_id": "00000000-0000-0000-0000-000000000000"}
            )
            assert response.status_code == 404, response.text
            assert response.json() == {"code": "not_found", "message": "Last Conversation Not Exists.", "status": 404}


def test_a_workflow_id_that_is_not_a_uuid_is_400_on_chat_messages(server: RunningServer) -> None:
    with client_for(server, chat_app(server).api_key) as client:
        response = client.post(
            "/chat-messages",
            json={"query": "hi", "inputs": {}, "user": "carol", "response_mode": "blocking", "workflow_id": "v2"},
        )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_request" and "workflow_id" in response.json()["message"]


def test_405_names_the_allowed_methods(hello_client: httpx.Client) -> None:
    response = hello_client.put("/workflows/run", json={})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


def test_a_204_answer_carries_the_json_content_type(server: RunningServer) -> None:
    with client_for(server, chat_app(server).api_key) as client:
        body = client.post(
            "/chat-messages", json={"query": "hi", "inputs": {}, "user": "dave", "response_mode": "blocking"}
        ).json()
        response = client.request("DELETE", f"/conversations/{body['conversation_id']}", json={"user": "dave"})
    assert response.status_code == 204 and response.content == b""
    assert response.headers["content-type"] == "application/json"

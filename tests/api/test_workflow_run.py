"""`POST /workflows/run` and `/workflows/:workflow_id/run`: blocking and streaming, inputs, versions, errors."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer
from support.sse import stream_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"


def run(client: httpx.Client, inputs: dict[str, object], **extra: object) -> httpx.Response:
    return client.post("/workflows/run", json={"inputs": inputs, "user": "alice", **extra})


def test_blocking_run_answers_the_outputs(hello_client: httpx.Client, hello_app: ImportedApp) -> None:
    response = run(hello_client, {"name": "Ada"}, response_mode="blocking")
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["status"] == "succeeded"
    assert body["data"]["outputs"] == {"greeting": "Hello, Ada! Your name has 3 letters."}
    assert body["data"]["workflow_id"] == hello_app.workflow_id
    assert body["workflow_run_id"] == body["data"]["id"]
    assert body["data"]["total_steps"] == 3
    assert body["data"]["error"] is None
    assert isinstance(body["data"]["created_at"], int) and isinstance(body["data"]["finished_at"], int)
    assert body["data"]["elapsed_time"] > 0
    assert ", " in response.text and '": ' in response.text  # Dify's json.dumps separators on blocking bodies


def test_response_mode_defaults_to_blocking(hello_client: httpx.Client) -> None:
    assert run(hello_client, {"name": "Bo"}).json()["data"]["outputs"]["greeting"].startswith("Hello, Bo!")


def test_streaming_run_sends_dify_events_in_order(hello_client: httpx.Client) -> None:
    response, events = stream_events(
        hello_client, "/workflows/run", {"inputs": {"name": "Ada"}, "user": "alice", "response_mode": "streaming"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started" and names[-1] == "workflow_finished"
    assert names.count("node_started") == 3 and names.count("node_finished") == 3
    assert "text_chunk" in names
    run_ids = {e["workflow_run_id"] for e in events}
    task_ids = {e["task_id"] for e in events}
    assert len(run_ids) == 1 and len(task_ids) == 1
    started = events[0]["data"]
    assert started["id"] == events[0]["workflow_run_id"]
    assert started["sequence_number"] >= 1
    assert started["inputs"]["name"] == "Ada" and started["inputs"]["sys.user_id"] == "alice"
    finished_nodes = [e["data"] for e in events if e["event"] == "node_finished"]
    assert [n["node_type"] for n in finished_nodes] == ["start", "template-transform", "end"]
    assert all(n["status"] == "succeeded" for n in finished_nodes)
    template = finished_nodes[1]
    assert template["outputs"] == {"output": "Hello, Ada! Your name has 3 letters."}
    assert template["inputs"] == {"name": "Ada"}
    assert template["elapsed_time"] >= 0 and isinstance(template["finished_at"], int)
    text = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
    assert text == "Hello, Ada! Your name has 3 letters."
    final = events[-1]["data"]
    assert final["status"] == "succeeded" and final["total_steps"] == 3
    assert final["outputs"] == {"greeting": "Hello, Ada! Your name has 3 letters."}


def test_sequence_numbers_increase_per_app(server: RunningServer) -> None:
    app = import_app(server.settings, "workflow-hello.yml")
    with client_for(server, app.api_key) as client:
        numbers = []
        for _ in range(3):
            _, events = stream_events(
                client, "/workflows/run", {"inputs": {"name": "x"}, "user": "u", "response_mode": "streaming"}
            )
            numbers.append(events[0]["data"]["sequence_number"])
    assert numbers == [1, 2, 3]


def test_a_published_version_runs_by_id(server: RunningServer) -> None:
    from support.apps import publish_version

    app = import_app(server.settings, "workflow-hello.yml")
    doc = yaml.safe_load((FIXTURES / "workflow-hello.yml").read_text())
    doc["workflow"]["graph"]["nodes"][1]["data"]["template"] = "Bye, {{ name }}."
    second = publish_version(server.settings, app.app_id, yaml.safe_dump(doc))
    with client_for(server, app.api_key) as client:
        current = run(client, {"name": "Ada"}).json()["data"]
        old = client.post(f"/workflows/{app.workflow_id}/run", json={"inputs": {"name": "Ada"}, "user": "a"}).json()
        new = client.post(f"/workflows/{second}/run", json={"inputs": {"name": "Ada"}, "user": "a"}).json()
    assert current["outputs"] == {"greeting": "Bye, Ada."} and current["workflow_id"] == second
    assert old["data"]["outputs"] == {"greeting": "Hello, Ada! Your name has 3 letters."}
    assert new["data"]["outputs"] == {"greeting": "Bye, Ada."}


def test_bad_workflow_id_is_400(hello_client: httpx.Client) -> None:
    response = hello_client.post("/workflows/not-a-uuid/run", json={"inputs": {"name": "x"}, "user": "a"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "Invalid workflow_id format" in response.json()["message"]


def test_unknown_or_foreign_workflow_id_is_404(server: RunningServer, hello_client: httpx.Client) -> None:
    other = import_app(server.settings, "workflow-hello.yml")
    for workflow_id in ("00000000-0000-0000-0000-000000000000", other.workflow_id):
        response = hello_client.post(f"/workflows/{workflow_id}/run", json={"inputs": {"name": "x"}, "user": "a"})
        assert response.status_code == 404
        assert response.json()["message"] == f"Workflow not found with id: {workflow_id}"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "name is required in input form"),
        ({"name": 42}, "(type 'text-input') name in input form must be a string"),
        ({"name": "x" * 49}, "name in input form must be less than 48 characters"),
    ],
)
def test_invalid_inputs_are_400_naming_the_variable(
    hello_client: httpx.Client, inputs: dict[str, object], message: str
) -> None:
    response = run(hello_client, inputs)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_param", "message": message, "status": 400}


def test_missing_inputs_or_user_is_400(hello_client: httpx.Client) -> None:
    for body in ({"user": "a"}, {"inputs": {"name": "x"}}, {"inputs": "text", "user": "a"}):
        response = hello_client.post("/workflows/run", json=body)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_param"


def test_unknown_response_mode_is_400(hello_client: httpx.Client) -> None:
    response = run(hello_client, {"name": "x"}, response_mode="fast")
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_malformed_json_is_400_bad_request(hello_client: httpx.Client) -> None:
    response = hello_client.post(
        "/workflows/run", content=b'{"inputs": {', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_non_json_body_is_415(hello_client: httpx.Client) -> None:
    response = hello_client.post("/workflows/run", content=b"inputs=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_chat_app_on_workflow_route_is_not_workflow_app(server: RunningServer) -> None:
    app = import_app(server.settings, "chat-assistant.yml")
    with client_for(server, app.api_key) as client:
        response = run(client, {"unit": "celsius"})
    assert response.status_code == 400
    assert response.json()["code"] == "not_workflow_app"


def test_trace_id_header_wins_over_query_and_body(server: RunningServer, hello_client: httpx.Client) -> None:
    from support.apps import run_record

    body = {"inputs": {"name": "x"}, "user": "a", "trace_id": "from-body"}
    by_header = hello_client.post(
        "/workflows/run?trace_id=from-query", json=body, headers={"X-Trace-Id": "from-header"}
    ).json()
    by_query = hello_client.post("/workflows/run?trace_id=from-query", json=body).json()
    by_body = hello_client.post("/workflows/run", json=body).json()
    assert run_record(server.settings, by_header["workflow_run_id"]).trace_id == "from-header"
    assert run_record(server.settings, by_query["workflow_run_id"]).trace_id == "from-query"
    assert run_record(server.settings, by_body["workflow_run_id"]).trace_id == "from-body"


def test_file_inputs_take_this_users_uploads(server: RunningServer) -> None:
    app = import_app(server.settings, "workflow-files.yml")
    with client_for(server, app.api_key) as client:
        mine = client.post("/files/upload", files={"file": ("a.txt", b"A", "text/plain")}, data={"user": "alice"})
        theirs = client.post("/files/upload", files={"file": ("b.txt", b"B", "text/plain")}, data={"user": "bob"})
        docs = [
            {"type": "document", "transfer_method": "local_file", "upload_file_id": mine.json()["id"]},
            {"type": "document", "transfer_method": "remote_url", "url": "https://example.com/report.pdf"},
        ]
        ok = run(client, {"docs": docs, "lucky": "7"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["data"]["outputs"] == {"summary": "Documents received: 2; lucky number 7"}
        foreign = [{"type": "document", "transfer_method": "local_file", "upload_file_id": theirs.json()["id"]}]
        refused = run(client, {"docs": foreign})
        assert refused.status_code == 400 and "not found" in refused.json()["message"]
        bad_id = run(client, {"docs": [{"type": "document", "transfer_method": "local_file", "upload_file_id": "x"}]})
        assert bad_id.json()["message"] == "Invalid upload file id format"
        images = [{"type": "image", "transfer_method": "remote_url", "url": "https://example.com/cat.png"}]
        wrong_type = run(client, {"docs": images})
        assert wrong_type.status_code == 400 and "not allowed" in wrong_type.json()["message"]
        too_many = run(client, {"docs": docs * 3})
        assert too_many.json()["message"] == "docs in input form must be less than 5 files"


def test_secret_environment_values_never_reach_the_client(server: RunningServer) -> None:
    app = import_app(server.settings, "workflow-files.yml")
    with client_for(server, app.api_key) as client:
        _, events = stream_events(
            client, "/workflows/run", {"inputs": {"docs": []}, "user": "a", "response_mode": "streaming"}
        )
    assert events and "sk-test-not-a-real-secret" not in json.dumps(events)

"""Run detail and logs: every run is recorded, visible only to its app, filterable as the spec says."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest
from support.apps import import_app
from support.clients import client_for
from support.server import RunningServer


@pytest.fixture(scope="module")
def logged(server: RunningServer) -> tuple[httpx.Client, list[str]]:
    app = import_app(server.settings, "workflow-hello.yml")
    client = client_for(server, app.api_key)
    run_ids = []
    for user, name in (("alice", "Ada"), ("bob", "Bo"), ("alice", "Cy")):
        run_ids.append(
            client.post("/workflows/run", json={"inputs": {"name": name}, "user": user}).json()["workflow_run_id"]
        )
    return client, run_ids


def test_run_detail_returns_inputs_and_outputs_as_json_strings(logged: tuple[httpx.Client, list[str]]) -> None:
    client, run_ids = logged
    body = client.get(f"/workflows/run/{run_ids[0]}").json()
    assert body["id"] == run_ids[0]
    assert body["status"] == "succeeded"
    assert json.loads(body["inputs"])["name"] == "Ada"
    assert json.loads(body["outputs"]) == {"greeting": "Hello, Ada! Your name has 3 letters."}
    assert body["total_steps"] == 3
    assert isinstance(body["created_at"], int) and isinstance(body["finished_at"], int)
    assert set(body) >= {"workflow_id", "error", "total_tokens", "elapsed_time"}


def test_unknown_run_is_404(logged: tuple[httpx.Client, list[str]]) -> None:
    client, _ = logged
    response = client.get("/workflows/run/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_another_apps_run_is_404(server: RunningServer, logged: tuple[httpx.Client, list[str]]) -> None:
    _, run_ids = logged
    other = import_app(server.settings, "workflow-hello.yml")
    with client_for(server, other.api_key) as client:
        assert client.get(f"/workflows/run/{run_ids[0]}").status_code == 404


def test_logs_list_runs_newest_first(logged: tuple[httpx.Client, list[str]]) -> None:
    client, run_ids = logged
    body = client.get("/workflows/logs").json()
    assert body["page"] == 1 and body["limit"] == 20 and body["total"] == 3 and body["has_more"] is False
    assert [row["workflow_run"]["id"] for row in body["data"]] == run_ids[::-1]
    row = body["data"][0]
    assert row["created_from"] == "service-api" and row["created_by_role"] == "end_user"
    assert row["created_by_end_user"]["session_id"] == "alice"
    assert row["workflow_run"]["status"] == "succeeded"
    assert row["workflow_run"]["version"] == "1"


def test_logs_paginate(logged: tuple[httpx.Client, list[str]]) -> None:
    client, run_ids = logged
    first = client.get("/workflows/logs", params={"limit": 2}).json()
    second = client.get("/workflows/logs", params={"limit": 2, "page": 2}).json()
    assert first["has_more"] is True and second["has_more"] is False
    assert [r["id"] for r in first["data"] + second["data"]] == run_ids[::-1]
    assert client.get("/workflows/logs", params={"page": 3, "limit": 2}).json()["data"] == []


def test_logs_filter_by_session_keyword_status_and_time(logged: tuple[httpx.Client, list[str]]) -> None:
    client, run_ids = logged
    by_user = client.get("/workflows/logs", params={"created_by_end_user_session_id": "alice"}).json()
    assert {r["id"] for r in by_user["data"]} == {run_ids[0], run_ids[2]}
    by_keyword = client.get("/workflows/logs", params={"keyword": "Bo"}).json()
    assert [r["id"] for r in by_keyword["data"]] == [run_ids[1]]
    assert client.get("/workflows/logs", params={"status": "failed"}).json()["total"] == 0
    future = datetime.fromtimestamp(time.time() + 3600, UTC).isoformat()
    assert client.get("/workflows/logs", params={"created_at__after": future}).json()["total"] == 0
    assert client.get("/workflows/logs", params={"created_at__before": future}).json()["total"] == 3
    assert client.get("/workflows/logs", params={"created_by_account": "a@b.c"}).json()["total"] == 0


@pytest.mark.parametrize(
    "params", [{"status": "running-ish"}, {"limit": 0}, {"limit": 101}, {"page": 0}, {"created_at__after": "yesterday"}]
)
def test_bad_log_filters_are_400(logged: tuple[httpx.Client, list[str]], params: dict[str, object]) -> None:
    client, _ = logged
    response = client.get("/workflows/logs", params=params)
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"

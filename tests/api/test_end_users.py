"""`GET /end-users/{id}` (scoped to the key's app), `GET /v1/` (the Service API's root), and the Dify fields of the
upload answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer

from kawa import __version__


def _upload(client: httpx.Client, user: str | None) -> dict[str, object]:
    data = {"user": user} if user is not None else {}
    response = client.post("/files/upload", files={"file": ("notes.txt", b"hello", "text/plain")}, data=data)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_an_end_user_is_found_by_the_id_an_upload_names(hello_client: httpx.Client, hello_app: ImportedApp) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    end_user_id = _upload(hello_client, user)["created_by"]
    response = hello_client.get(f"/end-users/{end_user_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "id": end_user_id,
        "tenant_id": hello_app.app_id,
        "app_id": hello_app.app_id,
        "type": "service-api",
        "external_user_id": user,
        "name": None,
        "is_anonymous": False,
        "session_id": user,
        "created_at": body["created_at"],
        "updated_at": body["created_at"],
    }
    assert datetime.fromisoformat(body["created_at"]).tzinfo is None  # Dify's naive UTC date-time


def test_the_anonymous_end_user_is_marked_anonymous(hello_client: httpx.Client) -> None:
    end_user_id = _upload(hello_client, None)["created_by"]
    body = hello_client.get(f"/end-users/{end_user_id}").json()
    assert body["is_anonymous"] is True and body["session_id"] == "DEFAULT-USER"


def test_another_apps_key_does_not_see_the_end_user(server: RunningServer, hello_client: httpx.Client) -> None:
    end_user_id = _upload(hello_client, "alice-of-hello")["created_by"]
    other = import_app(server.settings, "workflow-hello.yml")
    with client_for(server, other.api_key) as client:
        response = client.get(f"/end-users/{end_user_id}")
    assert response.status_code == 404
    assert response.json() == {"code": "end_user_not_found", "message": "End user not found.", "status": 404}


@pytest.mark.parametrize("end_user_id", [str(uuid.uuid4()), "not-a-uuid", "x" * 300, "%00"])
def test_an_unknown_end_user_is_404(hello_client: httpx.Client, end_user_id: str) -> None:
    response = hello_client.get(f"/end-users/{end_user_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "end_user_not_found"


def test_end_users_need_an_app_key(server: RunningServer, hello_client: httpx.Client) -> None:
    end_user_id = _upload(hello_client, "bob")["created_by"]
    with client_for(server, None) as client:
        assert client.get(f"/end-users/{end_user_id}").status_code == 401
    with client_for(server, "dataset-" + "x" * 24) as client:
        assert client.get(f"/end-users/{end_user_id}").json()["code"] == "unauthorized"


def test_the_upload_answer_carries_difys_fields(hello_client: httpx.Client, hello_app: ImportedApp) -> None:
    body = _upload(hello_client, "carol")
    assert body["reference"] is None and body["original_url"] is None and body["file_key"] is None
    assert body["user_id"] is None and body["conversation_id"] is None
    assert body["tenant_id"] == hello_app.app_id
    assert {"id", "name", "size", "extension", "mime_type", "created_by", "created_at", "preview_url"} <= set(body)


def test_the_service_root_names_the_api_without_a_key(server: RunningServer) -> None:
    response = httpx.get(server.api_url + "/")
    assert response.status_code == 200
    assert response.json() == {"welcome": "Dify OpenAPI", "api_version": "v1", "server_version": __version__}

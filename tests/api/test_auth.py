"""Authorization: Dify's 401 bodies, revocation within a second across processes, and isolation between apps."""

from __future__ import annotations

import time

import httpx
from support.apps import ImportedApp, disable_api, import_app, revoke_all_keys
from support.clients import client_for
from support.server import RunningServer


def _assert_401(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": message, "status": 401}
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_missing_header_is_401(server: RunningServer) -> None:
    with client_for(server, None) as client:
        _assert_401(client.get("/info"), "Authorization header must be provided and start with 'Bearer'")


def test_header_without_token_is_401(server: RunningServer) -> None:
    with client_for(server, None) as client:
        response = client.get("/info", headers={"Authorization": "Bearer"})
        _assert_401(response, "Authorization header must be provided and start with 'Bearer'")


def test_wrong_scheme_is_401(server: RunningServer, hello_app: ImportedApp) -> None:
    with client_for(server, None) as client:
        response = client.get("/info", headers={"Authorization": f"Basic {hello_app.api_key}"})
        _assert_401(response, "Authorization scheme must be 'Bearer'")


def test_scheme_is_case_insensitive(server: RunningServer, hello_app: ImportedApp) -> None:
    with client_for(server, None) as client:
        response = client.get("/info", headers={"Authorization": f"bearer {hello_app.api_key}"})
        assert response.status_code == 200


def test_unknown_key_is_401(server: RunningServer) -> None:
    with client_for(server, "app-doesnotexist0000000000000") as client:
        _assert_401(client.get("/info"), "Access token is invalid")


def test_dataset_key_shape_is_401_on_app_routes(server: RunningServer) -> None:
    with client_for(server, "dataset-abcdefabcdefabcdefabcdef") as client:
        _assert_401(client.get("/parameters"), "Access token is invalid")


def _first_answer_other_than_200(client: httpx.Client, within_s: float) -> tuple[httpx.Response, float]:
    """Ask every 20 ms until the answer is not 200 (or `within_s` has passed): (that answer, seconds it took)."""
    began = time.monotonic()
    while (response := client.get("/info")).status_code == 200 and time.monotonic() - began < within_s:
        time.sleep(0.02)
    return response, time.monotonic() - began


def test_key_revoked_by_another_process_stops_working_within_a_second(server: RunningServer) -> None:
    # The server keeps resolved keys briefly; revoke_all_keys revokes through stores of its own, as the CLI or
    # another worker process would, so only the database tells the server.
    app = import_app(server.settings, "workflow-hello.yml")
    with client_for(server, app.api_key) as client:
        assert client.get("/info").status_code == 200  # the key is now cached
        revoke_all_keys(server.settings, app.app_id)
        response, took = _first_answer_other_than_200(client, within_s=2.0)
        _assert_401(response, "Access token is invalid")
        assert took <= 1.0
        _assert_401(client.get("/info"), "Access token is invalid")


def test_each_key_sees_only_its_own_app(server: RunningServer) -> None:
    first = import_app(server.settings, "workflow-hello.yml")
    second = import_app(server.settings, "chat-assistant.yml")
    with client_for(server, first.api_key) as a, client_for(server, second.api_key) as b:
        assert a.get("/info").json()["mode"] == "workflow"
        assert b.get("/info").json()["mode"] == "chat"
        uploaded = a.post(
            "/files/upload", files={"file": ("a.txt", b"secret of app a", "text/plain")}, data={"user": "alice"}
        ).json()
        assert a.get(f"/files/{uploaded['id']}/preview", params={"user": "alice"}).content == b"secret of app a"
        denied = b.get(f"/files/{uploaded['id']}/preview", params={"user": "alice"})
        assert denied.status_code == 404
        assert denied.json()["code"] == "file_not_found"


def test_key_of_an_app_whose_api_is_disabled_is_403(server: RunningServer) -> None:
    app = import_app(server.settings, "workflow-hello.yml")
    with client_for(server, app.api_key) as client:
        assert client.get("/info").status_code == 200
        disable_api(server.settings, app.app_id)
        response, took = _first_answer_other_than_200(client, within_s=2.0)
        assert took <= 1.0
        assert response.status_code == 403
        assert response.json() == {
            "code": "forbidden",
            "message": "The app's API service has been disabled.",
            "status": 403,
        }

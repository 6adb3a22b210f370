"""Every error is Dify's `{code, message, status}` JSON: unknown routes, wrong methods, bad bodies."""

from __future__ import annotations

import httpx
from support.server import RunningServer


def test_unknown_route_is_json_404(server: RunningServer) -> None:
    response = httpx.get(server.api_url + "/no-such-thing")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and body["status"] == 404 and body["message"]


def test_wrong_method_is_json_405(hello_client: httpx.Client) -> None:
    response = hello_client.delete("/info")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_every_response_carries_a_request_id(hello_client: httpx.Client) -> None:
    response = hello_client.get("/info", headers={"X-Request-Id": "trace-me-123"})
    assert response.headers["x-request-id"] == "trace-me-123"
    assert len(hello_client.get("/info").headers["x-request-id"]) == 32


def test_healthz_answers(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_describes_the_service_api(server: RunningServer) -> None:
    spec = httpx.get(server.api_url + "/openapi.json").json()
    for path in ("/v1/info", "/v1/parameters", "/v1/site", "/v1/meta", "/v1/files/upload"):
        assert path in spec["paths"], path
    upload = spec["paths"]["/v1/files/upload"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]

"""kawa's `/v1/openapi.json` states what kawa answers: Dify's error body on the error statuses it really sends,
`text/event-stream` where an operation streams, date-time formats on the date filters, no FastAPI 422."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import ServedKawa

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(served_kawa: ServedKawa) -> dict[str, Any]:
    response = httpx.get(f"{served_kawa.base_url}/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_error_body_is_difys(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["DifyError"]
    assert error["required"] == ["code", "message", "status"]
    assert {name: field["type"] for name, field in error["properties"].items()} == {
        "code": "string",
        "message": "string",
        "status": "integer",
    }


def test_every_operation_documents_its_error_statuses_with_difys_body(document: dict[str, Any]) -> None:
    ref = {"$ref": "#/components/schemas/DifyError"}
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        expected = {"400", "404", "429"}
        if not path.startswith(("/healthz", "/readyz", "/files/{file_id}/file-preview")):
            expected.add("401")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            assert responses[status]["content"]["application/json"]["schema"] == ref, (method, path, status)


@pytest.mark.parametrize(
    "path", ["/v1/workflows/run", "/v1/workflows/{workflow_id}/run", "/v1/chat-messages", "/v1/completion-messages"]
)
def test_streaming_operations_declare_text_event_stream(document: dict[str, Any], path: str) -> None:
    content = document["paths"][path]["post"]["responses"]["200"]["content"]
    assert "text/event-stream" in content and "application/json" in content


def test_date_filters_are_date_times(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in document["paths"]["/v1/workflows/logs"]["get"]["parameters"]}
    for name in ("created_at__before", "created_at__after"):
        formats = [option.get("format") for option in parameters[name]["schema"]["anyOf"]]
        assert "date-time" in formats, parameters[name]

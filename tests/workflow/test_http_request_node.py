"""The http-request node against a real HTTP server on loopback, with the SSRF allow-list set for it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.http_echo import echo_server
from workflow_dsl import Run, chain, end, graph, node, run_graph, start

from kawa.net.ssrf import GuardedClientFactory
from kawa.workflow.ports import FileOwner, FileSaver
from kawa.workflow.runtime import NodeServices

UPLOADS = {"f-1": b"hello file", "f-2": b"\x00\x01binary"}


def upload(file_id: str, name: str, mime: str) -> dict[str, Any]:
    return {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "type": "document",
        "transfer_method": "local_file",
        "related_id": file_id,
        "filename": name,
        "extension": "." + name.rsplit(".", 1)[-1],
        "mime_type": mime,
        "size": len(UPLOADS[file_id]),
        "remote_url": None,
        "url": f"http://files/{file_id}",
    }


async def read_upload(file_id: str) -> bytes:
    return UPLOADS[file_id]


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with echo_server() as running:
        yield running


class RecordingSaver:
    """A file saver that keeps what it was given in memory and returns a minimal file value."""

    def __init__(self) -> None:
        self.saved: list[tuple[bytes, str, str]] = []

    async def save(self, content: bytes, *, filename: str, mime_type: str, owner: FileOwner) -> dict[str, Any]:
        self.saved.append((content, filename, mime_type))
        return {
            "dify_model_identity": "__dify__file__",
            "filename": filename,
            "mime_type": mime_type,
            "size": len(content),
        }


def services_for(port: int, file_saver: FileSaver | None = None) -> NodeServices:
    return NodeServices(
        http_client_factory=GuardedClientFactory([f"127.0.0.1:{port}"]), file_reader=read_upload, file_saver=file_saver
    )


def http(**data: Any) -> dict[str, Any]:
    return node("http", "http-request", **{"method": "get", "authorization": {"type": "no-auth"}, **data})


async def run_http(
    port: int,
    inputs: dict[str, Any] | None = None,
    system: dict[str, Any] | None = None,
    services: NodeServices | None = None,
    **data: Any,
) -> Run:
    spec = graph(
        [start("q"), http(**data), end(status=["http", "status_code"], body=["http", "body"])],
        chain("start", "http", "end"),
    )
    return await run_graph(spec, inputs or {"q": "kawa"}, system=system, services=services or services_for(port))


def echoed(run: Run) -> dict[str, Any]:
    assert run.finished.status == "succeeded", run.finished.error
    outputs = run.node_finished("http").outputs
    assert outputs is not None
    return json.loads(outputs["body"])  # type: ignore[no-any-return]


async def test_get_renders_templates_in_url_params_and_headers(port: int) -> None:
    run = await run_http(
        port,
        url=f"http://127.0.0.1:{port}/search/{{{{#start.q#}}}}",
        params="term:{{#start.q#}}\nempty:",
        headers="X-Who: {{#start.q#}}\nAccept:application/json",
    )
    request = echoed(run)
    assert request["path"] == "/search/kawa"
    assert request["query"] == {"term": "kawa", "empty": ""}
    assert request["headers"]["x-who"] == "kawa"
    outputs = run.node_finished("http").outputs
    assert outputs is not None
    assert outputs["status_code"] == 200
    assert outputs["headers"]["content-type"] == "application/json"
    assert outputs["files"] == []


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "GET"])
async def test_every_method_is_sent_as_is(port: int, method: str) -> None:
    assert echoed(await run_http(port, method=method, url=f"http://127.0.0.1:{port}/m"))["method"] == method.upper()


async def test_head_returns_status_and_empty_body(port: int) -> None:
    run = await run_http(port, method="head", url=f"http://127.0.0.1:{port}/h")
    assert run.finished.outputs == {"status": 200, "body": ""}


async def test_json_body_is_rendered_and_sent_as_json(port: int) -> None:
    body = {"type": "json", "data": [{"type": "text", "value": '{"name": "{{#start.q#}}", "n": 1}'}]}
    request = echoed(await run_http(port, method="post", url=f"http://127.0.0.1:{port}/j", body=body))
    assert json.loads(request["body"]) == {"name": "kawa", "n": 1}
    assert request["content_type"] == "application/json"


async def test_urlencoded_and_raw_text_bodies(port: int) -> None:
    form = {
        "type": "x-www-form-urlencoded",
        "data": [{"key": "a", "type": "text", "value": "{{#start.q#}}"}, {"key": "b", "type": "text", "value": "x y"}],
    }
    request = echoed(await run_http(port, method="post", url=f"http://127.0.0.1:{port}/f", body=form))
    assert request["body"] == "a=kawa&b=x+y"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    raw = {"type": "raw-text", "data": [{"type": "text", "value": "line {{#start.q#}}"}]}
    assert echoed(await run_http(port, method="post", url=f"http://127.0.0.1:{port}/r", body=raw))["body"] == (
        "line kawa"
    )


async def test_form_data_sends_text_and_file_parts(port: int) -> None:
    body = {
        "type": "form-data",
        "data": [
            {"key": "note", "type": "text", "value": "{{#start.q#}}"},
            {"key": "doc", "type": "file", "file": ["sys", "files"]},
        ],
    }
    system = {"files": [upload("f-1", "a.txt", "text/plain")]}
    request = echoed(await run_http(port, system=system, method="post", url=f"http://127.0.0.1:{port}/u", body=body))
    assert request["content_type"].startswith("multipart/form-data; boundary=")
    assert 'name="note"\r\n\r\nkawa' in request["body"]
    assert 'name="doc"; filename="a.txt"' in request["body"]
    assert "hello file" in request["body"]


async def test_binary_body_sends_the_file_bytes(port: int) -> None:
    body = {"type": "binary", "data": [{"type": "file", "file": ["sys", "doc"]}]}
    system = {"doc": upload("f-1", "a.txt", "text/plain")}
    request = echoed(await run_http(port, system=system, method="post", url=f"http://127.0.0.1:{port}/b", body=body))
    assert request["body"] == "hello file"
    assert request["content_type"] == "text/plain"


@pytest.mark.parametrize(
    ("config", "header", "expected"),
    [
        ({"type": "bearer", "api_key": "{{#start.q#}}-token"}, "authorization", "Bearer kawa-token"),
        (
            {"type": "basic", "api_key": "user:pass"},
            "authorization",
            "Basic " + base64.b64encode(b"user:pass").decode(),
        ),
        ({"type": "custom", "api_key": "k-1", "header": "X-Api-Key"}, "x-api-key", "k-1"),
    ],
)
async def test_api_key_authorization(port: int, config: dict[str, str], header: str, expected: str) -> None:
    run = await run_http(port, url=f"http://127.0.0.1:{port}/a", authorization={"type": "api-key", "config": config})
    assert echoed(run)["headers"][header] == expected
    process_data = run.node_finished("http").process_data
    assert process_data is not None and expected not in process_data["request"]


async def test_non_2xx_succeeds_without_error_handling(port: int) -> None:
    run = await run_http(port, url=f"http://127.0.0.1:{port}/status/503")
    assert run.finished.status == "succeeded"
    assert run.finished.outputs is not None and run.finished.outputs["status"] == 503


async def test_non_2xx_fails_the_node_when_an_error_strategy_is_set(port: int) -> None:
    run = await run_http(
        port,
        url=f"http://127.0.0.1:{port}/status/404",
        error_strategy="default-value",
        default_value=[{"key": "status_code", "type": "number", "value": "0"}],
    )
    finished = run.node_finished("http")
    assert finished.status == "exception"
    assert finished.error == "Request failed with status code 404"
    assert finished.outputs is not None and finished.outputs["error_type"] == "HTTPResponseCodeError"


async def test_internal_destination_is_refused_without_the_allow_list(port: int) -> None:
    services = NodeServices(http_client_factory=GuardedClientFactory([]))
    run = await run_http(port, services=services, url=f"http://127.0.0.1:{port}/")
    assert run.finished.status == "failed"
    assert run.node_finished("http").error is not None
    assert "loopback addresses are blocked" in str(run.node_finished("http").error)


async def test_binary_response_becomes_a_file_through_the_saver(port: int) -> None:
    saver = RecordingSaver()
    run = await run_http(
        port, services=services_for(port, file_saver=saver), url=f"http://127.0.0.1:{port}/binary?size=300"
    )
    outputs = run.node_finished("http").outputs
    assert outputs is not None
    assert outputs["body"] == ""
    assert outputs["files"] == [
        {
            "dify_model_identity": "__dify__file__",
            "filename": "blob.bin",
            "mime_type": "application/octet-stream",
            "size": 300,
        }
    ]
    assert saver.saved[0][0] == bytes(range(256)) + bytes(44)


async def test_binary_response_without_file_storage_is_reported_not_kept(port: int) -> None:
    run = await run_http(port, url=f"http://127.0.0.1:{port}/binary?size=10")
    finished = run.node_finished("http")
    assert finished.outputs is not None and finished.outputs["files"] == []
    assert finished.process_data is not None and finished.process_data["file_response"]["size"] == 10


async def test_text_response_over_1_mb_fails_the_node(port: int) -> None:
    run = await run_http(port, url=f"http://127.0.0.1:{port}/text?size={1024 * 1024 + 1}")
    assert run.node_finished("http").error is not None
    assert str(run.node_finished("http").error).startswith("Text size is too large, max size is 1.00 MB")


async def test_read_timeout_fails_the_node(port: int) -> None:
    run = await run_http(port, url=f"http://127.0.0.1:{port}/slow?seconds=3", timeout={"read": 1})
    assert str(run.node_finished("http").error).startswith("Request timed out")
    assert run.elapsed < 2.5

"""The document-extractor node: uploaded and remote files to text, one file or many."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.http_echo import echo_server
from workflow_dsl import Run, chain, end, graph, node, run_graph, start

from kawa.net.ssrf import GuardedClientFactory
from kawa.workflow.runtime import NodeServices


def _docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Quarterly report")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


UPLOADS = {"csv-1": b"a,b\n1,2\n", "docx-1": _docx_bytes(), "exe-1": b"MZ"}


def upload(file_id: str, name: str, mime: str) -> dict[str, Any]:
    extension = "." + name.rsplit(".", 1)[-1]
    return {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "type": "document",
        "transfer_method": "local_file",
        "related_id": file_id,
        "filename": name,
        "extension": extension,
        "mime_type": mime,
        "size": len(UPLOADS[file_id]),
        "remote_url": None,
        "url": f"http://files/{file_id}",
    }


def remote(url: str) -> dict[str, Any]:
    return {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "type": "document",
        "transfer_method": "remote_url",
        "related_id": None,
        "filename": url.rsplit("/", 1)[-1],
        "extension": ".json",
        "mime_type": "application/json",
        "size": -1,
        "remote_url": url,
        "url": url,
    }


async def read_upload(file_id: str) -> bytes:
    return UPLOADS[file_id]


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with echo_server() as running:
        yield running


async def extract(value: Any, allowed: list[str] | None = None) -> Run:
    spec = graph(
        [start(), node("doc", "document-extractor", variable_selector=["sys", "files"]), end(text=["doc", "text"])],
        chain("start", "doc", "end"),
    )
    services = NodeServices(file_reader=read_upload, http_client_factory=GuardedClientFactory(allowed or []))
    return await run_graph(spec, system={"files": value}, services=services)


async def test_one_uploaded_file_becomes_one_text() -> None:
    run = await extract(
        upload("docx-1", "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    )
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"text": "Quarterly report"}


async def test_an_array_of_files_becomes_an_array_of_texts() -> None:
    run = await extract([upload("csv-1", "t.csv", "text/csv"), upload("docx-1", "r.docx", "application/msword")])
    assert run.finished.outputs == {"text": ["| a | b |\n| --- | --- |\n| 1 | 2 |", "Quarterly report"]}


async def test_unsupported_file_type_fails_with_its_type_name() -> None:
    run = await extract(upload("exe-1", "setup.exe", "application/octet-stream"))
    finished = run.node_finished("doc")
    assert finished.status == "failed"
    assert finished.error == "Unsupported Extension Type: .exe"


async def test_remote_file_is_downloaded_through_the_ssrf_guard(port: int) -> None:
    url = f"http://127.0.0.1:{port}/data.json"
    run = await extract(remote(url), allowed=[f"127.0.0.1:{port}"])
    assert run.finished.outputs is not None
    assert json.loads(run.finished.outputs["text"])["path"] == "/data.json"
    refused = await extract(remote(url))
    assert "loopback addresses are blocked" in str(refused.node_finished("doc").error)


async def test_a_value_that_is_not_a_file_fails_the_node() -> None:
    run = await extract("just text")
    assert run.node_finished("doc").error == "Variable ['sys', 'files'] is not a file"

"""Tool nodes with files, end to end through the Service API of a real `kawa serve`: an uploaded PDF reaches
`pdf_process` as bytes, and the Word file `md_exporter` writes comes back in the node's `files` output and the run
outputs as a Dify file value whose signed URL serves it. An unknown provider still fails the run clearly."""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
import yaml
from docx import Document
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events

from kawa.tools.builtin import find_builtin_tool

NODE = {"type": "custom", "position": {"x": 0, "y": 0}}


def tool_node(node_id: str, provider: str, tool: str, parameters: dict[str, Any]) -> dict[str, Any]:
    data = {
        "type": "tool",
        "title": tool,
        "provider_id": provider,
        "provider_name": provider,
        "provider_type": "builtin",
        "tool_name": tool,
        "tool_configurations": {},
        "tool_parameters": parameters,
    }
    return {**NODE, "id": node_id, "data": data}


def workflow(nodes: list[dict[str, Any]], outputs: list[dict[str, Any]], variables: list[dict[str, Any]]) -> str:
    chain = ["start", *[n["id"] for n in nodes], "end"]
    edges = [
        {"id": f"e{i}", "source": a, "sourceHandle": "source", "target": b, "targetHandle": "target"}
        for i, (a, b) in enumerate(pairwise(chain))
    ]
    graph = {
        "edges": edges,
        "nodes": [
            {**NODE, "id": "start", "data": {"type": "start", "title": "Start", "variables": variables}},
            *nodes,
            {**NODE, "id": "end", "data": {"type": "end", "title": "End", "outputs": outputs}},
        ],
    }
    document = {
        "version": "0.6.0",
        "kind": "app",
        "app": {"name": "Tool files", "mode": "workflow"},
        "workflow": {"environment_variables": [], "conversation_variables": [], "features": {}, "graph": graph},
    }
    return yaml.safe_dump(document)


PDF_INPUT = {
    "variable": "doc",
    "label": "PDF",
    "type": "file",
    "required": True,
    "allowed_file_types": ["document"],
    "allowed_file_upload_methods": ["local_file"],
    "allowed_file_extensions": [],
}


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(make_settings(tmp_path_factory.mktemp("tool-files-home"), database_url))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def report_app(server: RunningServer) -> ImportedApp:
    """The uploaded PDF's text, exported again as a Word document."""
    nodes = [
        tool_node("read", "pdf_process", "extract_text", {"file": {"type": "variable", "value": ["start", "doc"]}}),
        tool_node(
            "export",
            "bowenliang123/md_exporter/md_exporter",
            "md_to_docx",
            {
                "md_text": {"type": "mixed", "value": "# Summary\n\n{{#read.text#}}"},
                "output_filename": {"type": "constant", "value": "summary"},
            },
        ),
    ]
    outputs = [
        {"variable": "text", "value_selector": ["read", "text"]},
        {"variable": "documents", "value_selector": ["export", "files"]},
    ]
    return import_app(server.settings, workflow(nodes, outputs, [PDF_INPUT]))


def a_pdf_saying(text: str) -> bytes:
    tool = find_builtin_tool("md_exporter", "md_to_pdf")
    assert tool is not None
    return tool.invoke({"md_text": text}).files[0].content


def assert_is_the_summary(file: dict[str, Any], expected_text: str) -> None:
    assert file["dify_model_identity"] == "__dify__file__"
    assert file["transfer_method"] == "tool_file"
    assert file["filename"] == "summary.docx" and file["extension"] == ".docx"
    served = httpx.get(file["url"], timeout=10)
    assert served.status_code == 200
    paragraphs = [p.text for p in Document(io.BytesIO(served.content)).paragraphs]
    assert paragraphs[0] == "Summary" and expected_text in "\n".join(paragraphs)


def upload(client: httpx.Client, content: bytes) -> dict[str, Any]:
    response = client.post(
        "/files/upload", files={"file": ("in.pdf", content, "application/pdf")}, data={"user": "ada"}
    )
    assert response.status_code in (200, 201), response.text
    return {"type": "document", "transfer_method": "local_file", "upload_file_id": response.json()["id"]}


def test_an_uploaded_pdf_is_read_and_a_word_file_comes_back_blocking(
    server: RunningServer, report_app: ImportedApp
) -> None:
    with client_for(server, report_app.api_key) as client:
        doc = upload(client, a_pdf_saying("Kawa reads this PDF"))
        body = client.post(
            "/workflows/run", json={"inputs": {"doc": doc}, "user": "ada", "response_mode": "blocking"}
        ).json()
    assert body["data"]["status"] == "succeeded", body
    assert "Kawa reads this PDF" in body["data"]["outputs"]["text"]
    [file] = body["data"]["outputs"]["documents"]
    assert_is_the_summary(file, "Kawa reads this PDF")


def test_the_tool_node_files_output_streams_with_the_file(server: RunningServer, report_app: ImportedApp) -> None:
    with client_for(server, report_app.api_key) as client:
        doc = upload(client, a_pdf_saying("Streaming works too"))
        response, events = stream_events(
            client, "/workflows/run", {"inputs": {"doc": doc}, "user": "ada", "response_mode": "streaming"}
        )
    assert response.status_code == 200
    [export] = [e for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "export"]
    [file] = export["data"]["outputs"]["files"]
    assert_is_the_summary(file, "Streaming works too")
    assert events[-1]["event"] == "workflow_finished" and events[-1]["data"]["status"] == "succeeded"


def test_an_unknown_provider_fails_the_run_with_a_clear_error(server: RunningServer) -> None:
    nodes = [tool_node("search", "langgenius/google/google", "google_search", {})]
    app = import_app(server.settings, workflow(nodes, [], []))
    with client_for(server, app.api_key) as client:
        body = client.post("/workflows/run", json={"inputs": {}, "user": "ada", "response_mode": "blocking"}).json()
    assert body["data"]["status"] == "failed"
    assert "google_search" in body["data"]["error"] and "not available" in body["data"]["error"]

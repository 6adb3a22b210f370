"""An http-request node whose response is a file, end to end through the Service API: the file is kept as an upload
of the run's app and reaches the node's `files` output and the run outputs with a URL that serves it."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import yaml
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events


def png_pixel() -> bytes:
    """A valid 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = png_pixel()


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def image_port() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="png-server", daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def file_server(
    database_url: str, image_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("http-files-home"),
        database_url,
        http_request={"allowed_targets": [f"127.0.0.1:{image_port}"]},
    )
    server = start_server(settings)
    yield server
    server.stop()


def fetch_image_app(image_port: int) -> str:
    node = {"id": "fetch", "type": "custom", "position": {"x": 0, "y": 0}}
    graph = {
        "edges": [
            {"id": "e1", "source": "start", "sourceHandle": "source", "target": "fetch", "targetHandle": "target"},
            {"id": "e2", "source": "fetch", "sourceHandle": "source", "target": "end", "targetHandle": "target"},
        ],
        "nodes": [
            {**node, "id": "start", "data": {"type": "start", "title": "Start", "variables": []}},
            {
                **node,
                "data": {
                    "type": "http-request",
                    "title": "Fetch the image",
                    "method": "get",
                    "url": f"http://127.0.0.1:{image_port}/pixel.png",
                    "authorization": {"type": "no-auth"},
                    "headers": "",
                    "params": "",
                    "body": {"type": "none", "data": []},
                },
            },
            {
                **node,
                "id": "end",
                "data": {
                    "type": "end",
                    "title": "End",
                    "outputs": [{"variable": "images", "value_selector": ["fetch", "files"]}],
                },
            },
        ],
    }
    document = {
        "version": "0.6.0",
        "kind": "app",
        "app": {"name": "Fetch an image", "mode": "workflow"},
        "workflow": {"environment_variables": [], "conversation_variables": [], "features": {}, "graph": graph},
    }
    return yaml.safe_dump(document)


@pytest.fixture(scope="module")
def fetch_app(file_server: RunningServer, image_port: int) -> ImportedApp:
    return import_app(file_server.settings, fetch_image_app(image_port))


def assert_is_the_png(file: dict[str, Any]) -> None:
    assert file["dify_model_identity"] == "__dify__file__"
    assert file["type"] == "image"
    assert file["filename"] == "pixel.png" and file["extension"] == ".png"
    assert file["mime_type"] == "image/png" and file["size"] == len(PNG)
    served = httpx.get(file["url"], timeout=10)
    assert served.status_code == 200
    assert served.content == PNG


def test_an_image_response_becomes_a_file_in_the_node_and_run_outputs(
    file_server: RunningServer, fetch_app: ImportedApp
) -> None:
    with client_for(file_server, fetch_app.api_key) as client:
        response, events = stream_events(
            client, "/workflows/run", {"inputs": {}, "user": "alice", "response_mode": "streaming"}
        )
    assert response.status_code == 200
    finished = events[-1]
    assert finished["event"] == "workflow_finished", finished
    assert finished["data"]["status"] == "succeeded", finished["data"]["error"]
    node = next(e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "fetch")
    assert node["outputs"]["body"] == ""
    [node_file] = node["outputs"]["files"]
    assert_is_the_png(node_file)
    [run_file] = finished["data"]["outputs"]["images"]
    assert_is_the_png(run_file)
    assert run_file["related_id"] == node_file["related_id"]


def test_the_blocking_answer_carries_the_same_file(file_server: RunningServer, fetch_app: ImportedApp) -> None:
    with client_for(file_server, fetch_app.api_key) as client:
        body = client.post("/workflows/run", json={"inputs": {}, "user": "bob", "response_mode": "blocking"}).json()
    assert body["data"]["status"] == "succeeded", body
    [file] = body["data"]["outputs"]["images"]
    assert_is_the_png(file)

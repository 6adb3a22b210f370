"""The request-size cap (`max_request_mb`, Dify's 100 MB by default): a larger body answers 413 in Dify's shape,
refused while it is read, so the server never holds it whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server

from kawa.settings import Settings

MB = 1024 * 1024
TOO_LARGE = {
    "code": "request_entity_too_large",
    "message": "The data value transmitted exceeds the capacity limit.",
    "status": 413,
}


def test_the_cap_defaults_to_100_mb() -> None:
    assert Settings().max_request_mb == 100


@pytest.fixture(scope="module")
def capped(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(make_settings(tmp_path_factory.mktemp("capped"), database_url, max_request_mb=2))
    yield server
    server.stop()


@pytest.fixture
def client(capped: RunningServer) -> Iterator[httpx.Client]:
    with client_for(capped, import_app(capped.settings, "workflow-hello.yml").api_key) as c:
        yield c


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def big_json(size: int) -> bytes:
    return b'{"inputs": {"name": "' + b"x" * size + b'"}, "user": "a"}'


def test_a_declared_body_over_the_cap_is_413(client: httpx.Client) -> None:
    response = client.post("/workflows/run", content=big_json(3 * MB), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_chunked_body_over_the_cap_is_413_while_it_streams(client: httpx.Client) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"inputs": {"name": "'
        for _ in range(64):  # 8 MB in 128 kB chunks
            sent += 128 * 1024
            yield b"x" * (128 * 1024)
        yield b'"}, "user": "a"}'

    response = client.post("/workflows/run", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_an_upload_over_the_cap_is_413_and_leaves_nothing(capped: RunningServer, client: httpx.Client) -> None:
    before = sorted(capped.settings.files_dir.rglob("*")) if capped.settings.files_dir.exists() else []
    response = client.post(
        "/files/upload", files={"file": ("big.mp4", b"\0" * (3 * MB), "video/mp4")}, data={"user": "a"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_entity_too_large"
    after = sorted(capped.settings.files_dir.rglob("*")) if capped.settings.files_dir.exists() else []
    assert [p for p in after if p.is_file()] == [p for p in before if p.is_file()]


def test_a_body_under_the_cap_still_works(client: httpx.Client) -> None:
    response = client.post("/workflows/run", json={"inputs": {"name": "Ada"}, "user": "a", "response_mode": "blocking"})
    assert response.status_code == 200, response.text


def test_the_server_does_not_buffer_a_refused_body(capped: RunningServer, client: httpx.Client) -> None:
    piece = b"x" * (256 * 1024)

    def chunks() -> Iterator[bytes]:  # 48 MB without a Content-Length: only reading can find it too large
        yield b'{"inputs": {"name": "'
        for _ in range(192):
            yield piece
        yield b'"}, "user": "a"}'

    before = resident_bytes()  # the test server runs in this process
    for _ in range(2):
        response = client.post("/workflows/run", content=chunks(), headers={"Content-Type": "application/json"})
        assert response.status_code == 413
    assert resident_bytes() - before < 24 * MB

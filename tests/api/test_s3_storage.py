"""The S3 storage backend, against a protocol-faithful S3 server on loopback (moto: no S3 is reachable here)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, free_port, start_server

from kawa.files.settings import StorageSettings


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket="kawa-files")
    yield endpoint
    moto.stop()


@pytest.fixture(scope="module")
def s3_server(database_url: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    storage = StorageSettings(
        backend="s3",
        s3_bucket="kawa-files",
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )  # type: ignore[arg-type]
    server = start_server(make_settings(tmp_path_factory.mktemp("s3home"), database_url, storage=storage))
    yield server
    server.stop()


def _objects(endpoint: str) -> list[str]:
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    return [o["Key"] for o in s3.list_objects_v2(Bucket="kawa-files").get("Contents", [])]


def test_upload_and_preview_through_s3(s3_server: RunningServer, s3_endpoint: str) -> None:
    app = import_app(s3_server.settings, "workflow-hello.yml")
    with client_for(s3_server, app.api_key) as client:
        body = client.post(
            "/files/upload", files={"file": ("s3.txt", b"stored in s3", "text/plain")}, data={"user": "u"}
        ).json()
        keys = _objects(s3_endpoint)
        assert any(k.startswith("kawa/upload_files/") and k.endswith(".txt") for k in keys)
        assert client.get(f"/files/{body['id']}/preview", params={"user": "u"}).content == b"stored in s3"
        assert httpx.get(body["source_url"]).content == b"stored in s3"


def test_refused_upload_leaves_nothing_in_s3(s3_server: RunningServer, s3_endpoint: str) -> None:
    app = import_app(s3_server.settings, "workflow-hello.yml")
    before = _objects(s3_endpoint)
    with client_for(s3_server, app.api_key) as client:
        response = client.post(
            "/files/upload", files={"file": ("big.png", b"\0" * (10 * 1024 * 1024 + 1), "image/png")}
        )
    assert response.status_code == 413
    assert _objects(s3_endpoint) == before

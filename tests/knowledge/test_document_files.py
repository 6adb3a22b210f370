"""A document's original file over HTTP (SQLite and PostgreSQL): `PATCH` with a new file, a signed download URL and
the download itself, and several documents as one ZIP."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from kb_helpers import add_text, create_dataset_key, new_dataset, wait_indexed
from support.apps import ImportedApp
from support.clients import client_for
from support.server import RunningServer

FACTS = "The Amberlight lighthouse stands on Korrin Point and was lit for the first time in 1874."
MILLS = "name,grain\nOssel windmill,rye\n"


@pytest.fixture(scope="session")
def dataset_key(server: RunningServer) -> str:
    return create_dataset_key(server.settings)


@pytest.fixture
def kb(server: RunningServer, dataset_key: str) -> Iterator[httpx.Client]:
    with client_for(server, dataset_key) as client:
        yield client


def _name() -> str:
    return f"kb-{uuid.uuid4().hex[:8]}"


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["status"] == status and isinstance(body["message"], str)


def _add_file(kb: httpx.Client, dataset_id: str, filename: str, data: bytes, mime: str) -> dict[str, object]:
    response = kb.post(
        f"/datasets/{dataset_id}/document/create_by_file",
        files={"file": (filename, data, mime)},
        data={"data": json.dumps({"indexing_technique": "high_quality"})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    wait_indexed(kb, dataset_id, str(body["batch"]))
    return body


# ---- download URL ---------------------------------------------------------------------------------------------------


def test_the_download_url_serves_the_original_file_without_a_key(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    document = add_text(kb, dataset["id"], "lighthouse", FACTS)["document"]
    response = kb.get(f"/datasets/{dataset['id']}/documents/{document['id']}/download")
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["url"]
    downloaded = httpx.get(response.json()["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == FACTS.encode()
    assert downloaded.headers["content-disposition"] == "attachment; filename*=UTF-8''lighthouse.txt"
    assert downloaded.headers["x-content-type-options"] == "nosniff"


def test_a_non_ascii_file_name_round_trips_in_the_download(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    document = _add_file(kb, dataset["id"], "灯台.md", FACTS.encode(), "text/markdown")["document"]
    assert isinstance(document, dict)
    url = kb.get(f"/datasets/{dataset['id']}/documents/{document['id']}/download").json()["url"]
    downloaded = httpx.get(url)
    assert downloaded.headers["content-disposition"] == "attachment; filename*=UTF-8''%E7%81%AF%E5%8F%B0.md"


def test_a_tampered_or_borrowed_signature_is_refused(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    first = add_text(kb, dataset["id"], "first", FACTS)["document"]
    second = add_text(kb, dataset["id"], "second", MILLS)["document"]
    url = kb.get(f"/datasets/{dataset['id']}/documents/{first['id']}/download").json()["url"]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}"
    tampered = httpx.get(base + parts.path, params={**query, "sign": query["sign"][:-2] + "xx"})
    _assert_error(tampered, 403, "file_access_denied")
    borrowed = httpx.get(base + parts.path.replace(first["id"], second["id"]), params=query)
    _assert_error(borrowed, 403, "file_access_denied")
    _assert_error(httpx.get(base + parts.path), 403, "file_access_denied")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/datasets/%00/documents/%00/download", None),
        ("POST", "/datasets/%00/documents/download-zip", {"document_ids": ["\u0000"]}),
        ("PATCH", "/datasets/%00/documents/%00", None),
    ],
)
def test_a_nul_in_an_id_is_a_client_error(kb: httpx.Client, method: str, path: str, body: object) -> None:
    response = kb.request(method, path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"code", "message", "status"}


def test_download_of_an_unknown_document_or_dataset_is_404(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    other = new_dataset(kb, _name())
    document = add_text(kb, other["id"], "elsewhere", FACTS)["document"]
    _assert_error(kb.get(f"/datasets/{dataset['id']}/documents/{uuid.uuid4()}/download"), 404, "not_found")
    _assert_error(kb.get(f"/datasets/{dataset['id']}/documents/{document['id']}/download"), 404, "not_found")
    _assert_error(kb.get(f"/datasets/{uuid.uuid4()}/documents/{document['id']}/download"), 404, "not_found")


# ---- ZIP ------------------------------------------------------------------------------------------------------------


def test_documents_download_as_one_zip_with_distinct_names(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    a = _add_file(kb, dataset["id"], "notes.md", b"# first", "text/markdown")["document"]
    b = _add_file(kb, dataset["id"], "notes.md", b"# second", "text/markdown")["document"]
    c = add_text(kb, dataset["id"], "lighthouse", FACTS)["document"]
    assert isinstance(a, dict) and isinstance(b, dict)
    response = kb.post(
        f"/datasets/{dataset['id']}/documents/download-zip", json={"document_ids": [a["id"], b["id"], c["id"]]}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["notes.md", "notes (1).md", "lighthouse.txt"]
    assert archive.read("notes.md") == b"# first" and archive.read("notes (1).md") == b"# second"
    assert archive.read("lighthouse.txt") == FACTS.encode()


@pytest.mark.parametrize("body", [{}, {"document_ids": []}, {"document_ids": "x"}, {"document_ids": ["x"] * 101}])
def test_a_bad_zip_request_is_invalid_param(kb: httpx.Client, body: object) -> None:
    dataset = new_dataset(kb, _name())
    _assert_error(kb.post(f"/datasets/{dataset['id']}/documents/download-zip", json=body), 400, "invalid_param")


def test_a_zip_with_a_document_of_another_dataset_is_404(kb: httpx.Client) -> None:
    dataset, other = new_dataset(kb, _name()), new_dataset(kb, _name())
    mine = add_text(kb, dataset["id"], "mine", FACTS)["document"]
    theirs = add_text(kb, other["id"], "theirs", FACTS)["document"]
    body = {"document_ids": [mine["id"], theirs["id"]]}
    _assert_error(kb.post(f"/datasets/{dataset['id']}/documents/download-zip", json=body), 404, "not_found")
    body = {"document_ids": [mine["id"]]}
    _assert_error(kb.post(f"/datasets/{uuid.uuid4()}/documents/download-zip", json=body), 404, "not_found")
    response = kb.post(f"/datasets/{dataset['id']}/documents/download-zip", data={"document_ids": mine["id"]})
    _assert_error(response, 415, "unsupported_media_type")


# ---- PATCH (update by file) -----------------------------------------------------------------------------------------


def test_patch_replaces_the_documents_file_and_reindexes_it(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    document = add_text(kb, dataset["id"], "facts", FACTS)["document"]
    response = kb.patch(
        f"/datasets/{dataset['id']}/documents/{document['id']}",
        files={"file": ("mills.csv", MILLS.encode(), "text/csv")},
        data={"data": json.dumps({"process_rule": {"mode": "automatic"}})},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"document", "batch"} and body["document"]["id"] == document["id"]
    (status,) = wait_indexed(kb, dataset["id"], body["batch"])
    assert status["indexing_status"] == "completed"
    segments = kb.get(f"/datasets/{dataset['id']}/documents/{document['id']}/segments").json()["data"]
    assert any("Ossel windmill" in s["content"] for s in segments)
    url = kb.get(f"/datasets/{dataset['id']}/documents/{document['id']}/download").json()["url"]
    assert httpx.get(url).content == MILLS.encode()


def test_patch_without_a_file_or_of_an_unknown_document_fails(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    document = add_text(kb, dataset["id"], "facts", FACTS)["document"]
    path = f"/datasets/{dataset['id']}/documents/{document['id']}"
    _assert_error(kb.patch(path, data={"data": "{}"}), 400, "no_file_uploaded")
    _assert_error(
        kb.patch(path, files={"file": ("a.txt", b"x", "text/plain")}, data={"data": "{not json"}), 400, "invalid_param"
    )
    unknown = f"/datasets/{dataset['id']}/documents/{uuid.uuid4()}"
    _assert_error(kb.patch(unknown, files={"file": ("a.txt", b"x", "text/plain")}), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/datasets/{d}/documents/{doc}/download"),
        ("POST", "/datasets/{d}/documents/download-zip"),
        ("PATCH", "/datasets/{d}/documents/{doc}"),
    ],
)
def test_an_app_key_cannot_reach_document_files(
    server: RunningServer, hello_app: ImportedApp, kb: httpx.Client, method: str, path: str
) -> None:
    dataset = new_dataset(kb, _name())
    document = add_text(kb, dataset["id"], "facts", FACTS)["document"]
    with client_for(server, hello_app.api_key) as client:
        response = client.request(
            method, path.format(d=dataset["id"], doc=document["id"]), json={"document_ids": [document["id"]]}
        )
    _assert_error(response, 401, "unauthorized")

"""`POST /files/upload`: streamed into storage, per-kind limits, the spec's errors, and app-scoped reading."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.server import RunningServer

MB = 1024 * 1024


def _stored_files(server: RunningServer) -> list[Path]:
    root = server.settings.files_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_answers_201_with_the_spec_fields(hello_client: httpx.Client) -> None:
    response = hello_client.post(
        "/files/upload", files={"file": ("notes.txt", b"hello", "text/plain")}, data={"user": "alice"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "notes.txt"
    assert body["size"] == 5
    assert body["extension"] == "txt"
    assert body["mime_type"] == "text/plain"
    assert isinstance(body["created_at"], int)
    assert body["created_by"] and body["id"]
    assert body["source_url"].startswith("http://")


def test_uploaded_bytes_are_stored_under_a_generated_name(server: RunningServer, hello_client: httpx.Client) -> None:
    body = hello_client.post(
        "/files/upload", files={"file": ("../../etc/evil.md", b"# title", "text/markdown")}, data={"user": "alice"}
    ).json()
    assert body["name"] == "evil.md"
    names = [p.name for p in _stored_files(server)]
    assert "evil.md" not in names
    assert hello_client.get(f"/files/{body['id']}/preview", params={"user": "alice"}).content == b"# title"


def test_upload_without_user_belongs_to_the_default_user(hello_client: httpx.Client) -> None:
    response = hello_client.post("/files/upload", files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")})
    assert response.status_code == 201


def test_no_file_is_400_no_file_uploaded(hello_client: httpx.Client) -> None:
    response = hello_client.post("/files/upload", data={"user": "alice"}, files={"other": ("x", b"1")})
    assert response.status_code == 400
    assert response.json() == {"code": "no_file_uploaded", "message": "Please upload your file.", "status": 400}


def test_two_files_are_400_too_many_files(server: RunningServer, hello_client: httpx.Client) -> None:
    before = _stored_files(server)
    files = [("file", ("a.txt", b"a", "text/plain")), ("file", ("b.txt", b"b", "text/plain"))]
    response = hello_client.post("/files/upload", files=files, data={"user": "alice"})
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_files"
    assert _stored_files(server) == before


def test_unsupported_extension_is_415(hello_client: httpx.Client) -> None:
    response = hello_client.post(
        "/files/upload", files={"file": ("tool.exe", b"MZ", "application/octet-stream")}, data={"user": "alice"}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_file_type"


def test_not_multipart_is_a_clear_400(hello_client: httpx.Client) -> None:
    response = hello_client.post("/files/upload", json={"file": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_image_at_the_limit_is_accepted(hello_client: httpx.Client) -> None:
    response = hello_client.post(
        "/files/upload", files={"file": ("big.png", b"\0" * (10 * MB), "image/png")}, data={"user": "alice"}
    )
    assert response.status_code == 201
    assert response.json()["size"] == 10 * MB


def test_one_byte_over_the_limit_is_413_and_leaves_nothing(server: RunningServer, hello_client: httpx.Client) -> None:
    before = _stored_files(server)
    response = hello_client.post(
        "/files/upload", files={"file": ("big.png", b"\0" * (10 * MB + 1), "image/png")}, data={"user": "alice"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert _stored_files(server) == before


def test_document_limit_is_its_own(server: RunningServer, hello_client: httpx.Client) -> None:
    before = _stored_files(server)
    response = hello_client.post(
        "/files/upload", files={"file": ("big.pdf", b"%" * (15 * MB + 1), "application/pdf")}, data={"user": "alice"}
    )
    assert response.status_code == 413
    assert _stored_files(server) == before


def test_preview_as_attachment_sets_disposition(hello_client: httpx.Client) -> None:
    file_id = hello_client.post(
        "/files/upload", files={"file": ("r.txt", b"report", "text/plain")}, data={"user": "alice"}
    ).json()["id"]
    response = hello_client.get(f"/files/{file_id}/preview", params={"as_attachment": "true", "user": "alice"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content == b"report"


def test_signed_url_works_without_a_key_and_refuses_tampering(hello_client: httpx.Client) -> None:
    body = hello_client.post(
        "/files/upload", files={"file": ("s.txt", b"signed", "text/plain")}, data={"user": "alice"}
    ).json()
    assert httpx.get(body["source_url"]).content == b"signed"
    tampered = body["source_url"].replace("sign=", "sign=x")
    response = httpx.get(tampered)
    assert response.status_code == 403
    assert response.json()["code"] == "file_access_denied"


def test_unknown_file_preview_is_404(hello_client: httpx.Client) -> None:
    response = hello_client.get("/files/00000000-0000-0000-0000-000000000000/preview")
    assert response.status_code == 404
    assert response.json()["code"] == "file_not_found"


def test_an_end_user_cannot_preview_another_end_users_upload(hello_client: httpx.Client) -> None:
    file_id = hello_client.post(
        "/files/upload", files={"file": ("diary.txt", b"dear diary", "text/plain")}, data={"user": "alice"}
    ).json()["id"]
    assert (
        hello_client.post(  # mallory is a known end user of the same app
            "/files/upload", files={"file": ("m.txt", b"m", "text/plain")}, data={"user": "mallory"}
        ).status_code
        == 201
    )
    for other in ({"user": "mallory"}, {"user": "nobody-yet"}, {}):
        response = hello_client.get(f"/files/{file_id}/preview", params=other)
        assert response.status_code == 404, other
        assert response.json()["code"] == "file_not_found"
    assert hello_client.get(f"/files/{file_id}/preview", params={"user": "alice"}).content == b"dear diary"


def test_an_upload_without_user_is_previewed_without_user(hello_client: httpx.Client) -> None:
    file_id = hello_client.post("/files/upload", files={"file": ("anon.txt", b"anon", "text/plain")}).json()["id"]
    assert hello_client.get(f"/files/{file_id}/preview").content == b"anon"
    assert hello_client.get(f"/files/{file_id}/preview", params={"user": "alice"}).status_code == 404


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("page.html", "text/html"), ("logo.svg", "image/svg+xml"), ("page.htm", "text/plain")],
)
def test_uploaded_html_and_svg_are_never_served_inline(
    hello_client: httpx.Client, name: str, content_type: str
) -> None:
    body = b"<html><script>alert(document.domain)</script></html>"
    uploaded = hello_client.post("/files/upload", files={"file": (name, body, content_type)}, data={"user": "alice"})
    assert uploaded.status_code == 201, uploaded.text
    response = hello_client.get(f"/files/{uploaded.json()['id']}/preview", params={"user": "alice"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    signed = httpx.get(uploaded.json()["source_url"])
    assert signed.headers["content-disposition"].startswith("attachment;")
    assert signed.headers["x-content-type-options"] == "nosniff"


def test_a_text_preview_is_inline_with_nosniff(hello_client: httpx.Client) -> None:
    file_id = hello_client.post(
        "/files/upload", files={"file": ("plain.txt", b"plain", "text/plain")}, data={"user": "alice"}
    ).json()["id"]
    response = hello_client.get(f"/files/{file_id}/preview", params={"user": "alice"})
    assert "content-disposition" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"

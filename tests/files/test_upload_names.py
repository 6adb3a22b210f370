"""Uploaded file names round-trip exactly whatever their script (RFC 7578 UTF-8, RFC 5987 `filename*=`), names Dify
refuses answer 400, and a malformed multipart body answers 400, never 500."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

BOUNDARY = "kawa-boundary-7578"


def multipart(disposition: bytes, content: bytes = b"hello", *, close: bool = True) -> bytes:
    body = (
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="user"\r\n\r\nalice\r\n'
        + f"--{BOUNDARY}\r\n".encode()
        + b"Content-Disposition: "
        + disposition
        + b"\r\nContent-Type: text/plain\r\n\r\n"
        + content
        + b"\r\n"
    )
    return body + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


def post(client: httpx.Client, body: bytes) -> httpx.Response:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return client.post("/files/upload", content=body, headers=headers)


@pytest.mark.parametrize("name", ["日本語.txt", "中文文件.txt", "café.txt", "Ελληνικά ñ ü.md", "emoji-🦦.txt"])
def test_a_utf8_filename_round_trips_exactly(hello_client: httpx.Client, name: str) -> None:
    response = post(hello_client, multipart(f'form-data; name="file"; filename="{name}"'.encode()))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name
    download = hello_client.get(
        f"/files/{response.json()['id']}/preview", params={"user": "alice", "as_attachment": "true"}
    )
    assert download.headers["content-disposition"] == f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def test_the_rfc5987_filename_wins_over_the_plain_one(hello_client: httpx.Client) -> None:
    name = "報告書 2026.txt"
    disposition = f'form-data; name="file"; filename="report.txt"; filename*=UTF-8\'\'{quote(name)}'
    response = post(hello_client, multipart(disposition.encode()))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


def test_a_client_library_upload_keeps_the_name(hello_client: httpx.Client) -> None:
    response = hello_client.post(
        "/files/upload", files={"file": ("résumé 日本.txt", b"cv", "text/plain")}, data={"user": "alice"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "résumé 日本.txt"


def test_a_latin1_filename_from_an_old_client_is_read_as_latin1(hello_client: httpx.Client) -> None:
    response = post(hello_client, multipart('form-data; name="file"; filename="café.txt"'.encode("latin-1")))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "café.txt"


@pytest.mark.parametrize("name", ['a"b.txt', "a<b.txt", "a>b.txt", "a|b.txt", "a?b.txt", "a*b.txt"])
def test_names_with_characters_dify_refuses_are_400(hello_client: httpx.Client, name: str) -> None:
    escaped = name.replace('"', '\\"')
    response = post(hello_client, multipart(f'form-data; name="file"; filename="{escaped}"'.encode()))
    assert response.status_code == 400, response.text
    assert response.json() == {
        "code": "invalid_param",
        "message": "Filename contains invalid characters",
        "status": 400,
    }


@pytest.mark.parametrize(
    "body",
    [
        b"this is not multipart at all",
        multipart(b'form-data; name="file"; filename="cut.txt"', close=False),
        f"--{BOUNDARY}\r\nContent-Disposition form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
        f"--{BOUNDARY}\r\n".encode() + b"\xff\xfe: \x00\r\n\r\n",
        b"",
    ],
    ids=["garbage", "no-closing-boundary", "header-without-colon", "binary-header", "empty"],
)
def test_a_malformed_multipart_body_is_400(hello_client: httpx.Client, body: bytes) -> None:
    response = post(hello_client, body)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400 and response.json()["code"] in ("bad_request", "no_file_uploaded")

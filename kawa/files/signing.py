"""Signed, expiring file URLs (`/files/{id}/file-preview?timestamp&nonce&sign`), as Dify hands out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

URL_TTL_S = 3600


def _signature(file_id: str, timestamp: str, nonce: str, key: bytes) -> str:
    digest = hmac.new(key, f"file-preview|{file_id}|{timestamp}|{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_file_url(base_url: str, file_id: str, key: bytes, *, now: float | None = None) -> str:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = os.urandom(16).hex()
    sign = _signature(file_id, timestamp, nonce, key)
    return f"{base_url}/files/{file_id}/file-preview?timestamp={timestamp}&nonce={nonce}&sign={sign}"


def signed_query(subject: str, key: bytes, *, now: float | None = None) -> str:
    """`timestamp=..&nonce=..&sign=..` for any other signed download; `subject` names what it opens (e.g.
    `dataset-document/{dataset}/{document}`), so that a signature for one thing never opens another."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = os.urandom(16).hex()
    return f"timestamp={timestamp}&nonce={nonce}&sign={_signature(subject, timestamp, nonce, key)}"


def verify_file_signature(file_id: str, timestamp: str, nonce: str, sign: str, key: bytes) -> bool:
    if not timestamp.isdigit() or not nonce or not sign:
        return False
    if time.time() - int(timestamp) > URL_TTL_S:
        return False
    return hmac.compare_digest(_signature(file_id, timestamp, nonce, key), sign)

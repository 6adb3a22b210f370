"""The wire between the server and a sandbox worker: frames of a 4-byte big-endian length and UTF-8 JSON.

Stdlib only; imported by the server (`kawa.sandbox.protocol`) and by workers (as a top-level module).
Requests: `{"code", "inputs", "timeout_s"}`. Replies: `{"ok": true, "result": <json text>}` or
`{"ok": false, "kind": "error"|"timeout"|"memory"|"output", "message"}`. A worker first sends
`{"ready": true, "layers": [...]}` to say which isolation layers it has in effect.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
# Bound at import: user code in a python child may rebind `json.dumps`, which must not break the reply.
_dumps = json.dumps
_loads = json.loads
MAX_FRAME = 256 * 1024 * 1024


def encode(message: dict[str, Any]) -> bytes:
    body = _dumps(message, ensure_ascii=False, allow_nan=True).encode("utf-8")
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    message = _loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a frame must hold a JSON object")
    return message


def read_exact(fd: int, size: int) -> bytes | None:
    """Blocking read of exactly `size` bytes from a file descriptor; None on end of file."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> dict[str, Any] | None:
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is larger than {MAX_FRAME}")
    body = read_exact(fd, size)
    if body is None:
        return None
    return decode(body)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    data = memoryview(encode(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]

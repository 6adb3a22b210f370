"""A stdlib HTTP server on 127.0.0.1 (in a thread) that describes each request back, for outbound-HTTP tests.

- any method on any path: 200 with JSON `{method, path, query, headers, body, content_type}`
- `/status/<code>`: that status, same JSON
- `/redirect?to=<url>`: 302 to `url`
- `/binary?size=<n>`: n bytes of application/octet-stream with a Content-Disposition filename
- `/text?size=<n>`: n bytes of text/plain
- `/slow?seconds=<s>`: waits, then 200
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path == "/redirect":
            self._send(302, b"", "text/plain", {"Location": query["to"]})
            return
        if parts.path == "/binary":
            size = int(query.get("size", "16"))
            self._send(
                200,
                bytes(range(256)) * (size // 256) + bytes(size % 256),
                "application/octet-stream",
                {"Content-Disposition": 'attachment; filename="blob.bin"'},
            )
            return
        if parts.path == "/text":
            self._send(200, b"x" * int(query.get("size", "16")), "text/plain; charset=utf-8")
            return
        if parts.path == "/slow":
            time.sleep(float(query.get("seconds", "1")))
        status = int(parts.path.split("/")[2]) if parts.path.startswith("/status/") else 200
        described = {
            "method": self.command,
            "path": parts.path,
            "query": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
            "content_type": self.headers.get("Content-Type"),
        }
        self._send(status, json.dumps(described).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (size caps, timeouts) are part of the tests


@contextmanager
def echo_server() -> Iterator[int]:
    """Run the server for the duration of the block; yields its port on 127.0.0.1."""
    server = _QuietServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="http-echo")
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()

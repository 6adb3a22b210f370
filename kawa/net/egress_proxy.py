"""`EgressProxy`: the HTTP proxy code nodes reach the network through, under the http-request node's SSRF policy.

Dify sends its sandbox's traffic through a filtering (squid) proxy; this is kawa's equivalent, inside the server
process. It speaks the two forms of proxying that `requests`, `httpx` and `urllib` use with `HTTP(S)_PROXY`:
`CONNECT host:port` tunnels (https) and absolute-URI requests (`GET http://host/path`, plain http). For either, the
destination is resolved once, refused before any connection is made unless every address it stands for is allowed
(`ssrf.checked_address`: public addresses, or the allow-list `KAWA_HTTP_REQUEST__ALLOWED_TARGETS`), and then the
very address checked is connected to. A refusal is an HTTP 403 whose reason phrase and body say why, which is what
the code sees in its exception (`Tunnel connection failed: 403 ...`) or response.

Plain-http requests are sent upstream with `Connection: close`, and their responses come back with it: one request
per proxy connection, so a kept-alive connection cannot carry a second request to another host past the check.
The proxy listens on a unix socket (sandbox workers in their own network namespace reach it through a bridge, see
`kawa.sandbox.proxy_bridge`) and on a loopback TCP port (workers without namespaces connect to it directly; the
port is also the one code sees).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Coroutine
from urllib.parse import urlsplit

import httpx

from kawa.net.ssrf import DestinationRefused, TargetPolicy, checked_address

log = logging.getLogger("kawa.net.egress_proxy")

HEAD_LIMIT = 64 * 1024
CHUNK = 64 * 1024
_HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization", b"te", b"upgrade"}


class ProxyRequestError(Exception):
    """A request the proxy answers with an error status instead of forwarding it."""

    def __init__(self, status: int, reason: str, detail: str | None = None) -> None:
        super().__init__(detail or reason)
        self.status = status
        self.reason = reason
        self.detail = detail or reason


class EgressProxy:
    """Forwards proxied HTTP(S) to destinations `policy` allows. `async with EgressProxy(policy) as proxy:`."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        connect_timeout_s: float = 10.0,
        idle_timeout_s: float = 300.0,
        head_timeout_s: float = 30.0,
    ) -> None:
        self.policy = policy
        self.connect_timeout_s = connect_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.head_timeout_s = head_timeout_s
        self._servers: list[asyncio.Server] = []
        self._directory: str | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.unix_path = ""
        self.port = 0

    async def __aenter__(self) -> EgressProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on a fresh unix socket (reachable by any uid: sandbox workers run as their own) and on a loopback
        TCP port."""
        self._directory = tempfile.mkdtemp(prefix="kawa-egress-")
        os.chmod(self._directory, 0o755)
        self.unix_path = os.path.join(self._directory, "proxy.sock")
        unix = await asyncio.start_unix_server(self._accept, self.unix_path, limit=HEAD_LIMIT)
        os.chmod(self.unix_path, 0o666)
        tcp = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=HEAD_LIMIT, family=socket.AF_INET)
        self.port = int(tcp.sockets[0].getsockname()[1])
        self._servers = [unix, tcp]

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers = []
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.head_timeout_s)
        except asyncio.LimitOverrunError:
            await _reply_error(writer, ProxyRequestError(431, "Request Header Fields Too Large"))
            return
        try:
            method, host, port, upstream_head = _parse_head(head)
            upstream_reader, upstream_writer = await self._connect(host, port)
        except ProxyRequestError as error:
            await _reply_error(writer, error)
            return
        idle = self.idle_timeout_s
        try:
            if method == b"CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                receiving = _pipe(upstream_reader, writer, idle)
            else:
                upstream_writer.write(upstream_head)
                receiving = _forward_response(upstream_reader, writer, idle)
            await _relay(_pipe(reader, upstream_writer, idle), receiving, tunnel=method == b"CONNECT")
        finally:
            upstream_writer.close()

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            address = await asyncio.wait_for(checked_address(self.policy, host, port), self.connect_timeout_s)
        except DestinationRefused as refused:
            log.info("code sandbox egress refused: %s", refused.message)
            raise ProxyRequestError(403, "Destination refused by kawa's SSRF policy", refused.message) from None
        except (httpx.ConnectError, TimeoutError) as exc:
            raise ProxyRequestError(502, "Bad Gateway", f"Could not resolve {host}: {exc or 'timed out'}") from None
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(str(address), port, limit=CHUNK), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            detail = f"Could not connect to {host}:{port}: {exc.strerror if isinstance(exc, OSError) else 'timed out'}"
            raise ProxyRequestError(502, "Bad Gateway", detail) from None


def _parse_head(head: bytes) -> tuple[bytes, str, int, bytes]:
    """The method, destination and (for plain http) the head to send upstream of a proxied request."""
    request_line, _, header_block = head.partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise ProxyRequestError(400, "Bad Request", "Not an HTTP/1.x proxy request.")
    method, target, version = parts
    text = target.decode("ascii", "replace")
    if method == b"CONNECT":
        host, port = _authority(text, default_port=None)
        return method, host, port, b""
    url = urlsplit(text)
    if url.scheme != "http" or not url.hostname:
        raise ProxyRequestError(400, "Bad Request", "The proxy forwards http:// URLs and CONNECT tunnels (https) only.")
    host, port = _authority(url.netloc.rpartition("@")[2], default_port=80)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    headers = [line for line in header_block.split(b"\r\n") if line and _header_name(line) not in _HOP_BY_HOP]
    if not any(_header_name(line) == b"host" for line in headers):
        headers.insert(0, b"Host: " + url.netloc.rpartition("@")[2].encode("ascii", "replace"))
    lines = [method + b" " + path.encode("ascii", "replace") + b" " + version, *headers, b"Connection: close"]
    return method, host, port, b"\r\n".join(lines) + b"\r\n\r\n"


def _authority(text: str, *, default_port: int | None) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            host, port_text = text, ""
    if not port_text and default_port is not None:
        return host, default_port
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ProxyRequestError(400, "Bad Request", f"Not a host:port destination: {text!r}.")
    return host, int(port_text)


async def _reply_error(writer: asyncio.StreamWriter, error: ProxyRequestError) -> None:
    body = (error.detail + "\n").encode()
    reason = f"{error.reason}: {error.detail}" if error.status == 403 else error.reason
    head = (
        f"HTTP/1.1 {error.status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("ascii", "replace") + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _relay(sending: Coroutine[None, None, None], receiving: Coroutine[None, None, None], *, tunnel: bool) -> None:
    """Copy bytes both ways. A tunnel lasts until both sides are done (half-closes are passed on); a forwarded
    request ends with its response."""
    sender = asyncio.create_task(sending)
    receiver = asyncio.create_task(receiving)
    try:
        if tunnel:
            await asyncio.gather(sender, receiver)
        else:
            await receiver
    finally:
        sender.cancel()
        receiver.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)


async def _forward_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle_timeout_s: float) -> None:
    """Pass a forwarded request's response on, its head saying `Connection: close` (the proxy closes the connection
    after it, so a client keeping connections alive must not reuse this one), then its body as it comes."""
    while True:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle_timeout_s)
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            await _reply_error(writer, ProxyRequestError(502, "Bad Gateway", "The destination's answer is not HTTP."))
            return
        status_line, _, header_block = head.partition(b"\r\n")
        status = status_line.split(b" ", 2)[1:2]
        if status and status[0].startswith(b"1") and status[0] != b"101":  # 100 Continue and the like
            writer.write(head)
            continue
        headers = [line for line in header_block.split(b"\r\n") if line and _header_name(line) not in _HOP_BY_HOP]
        writer.write(b"\r\n".join([status_line, *headers, b"Connection: close", b"", b""]))
        break
    await _pipe(reader, writer, idle_timeout_s)


def _header_name(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle_timeout_s: float) -> None:
    try:
        while data := await asyncio.wait_for(reader.read(CHUNK), idle_timeout_s):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, TimeoutError, OSError):
        writer.close()

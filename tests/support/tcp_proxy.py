"""`TcpProxy`: a TCP proxy on loopback in front of a real server (PostgreSQL, Redis, a model server) that a test
can cut and restore, to make that server "go away" without touching it (others share it).

It runs its own event loop in a daemon thread, so sync tests, async tests and servers in other threads can all use
it. Faults:

- `cut()`: an outage. Open connections are reset (RST, as when a host dies) and the port refuses new ones until
  `restore()`.
- `cut(silent=True)`: a partition. Connections stay open and new ones are accepted, but no byte flows either way
  until `restore()` (clients hang until their own timeouts).
- `latency_s`: a delay added to every forwarded chunk.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = proxy.rewrite(database_url)     # same URL, host and port of the proxy
        proxy.cut(); ...; proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from support.server import free_port

T = TypeVar("T")
CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.latency_s = 0.0
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing: asyncio.Event | None = None

    # ---- control (from any thread) -------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._cut(silent=False))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def cut(self, *, silent: bool = False) -> None:
        """Start an outage: reset every connection and refuse new ones, or (`silent`) stop every byte."""
        self._call(self._cut(silent))

    def restore(self) -> None:
        """End the outage: accept connections and forward bytes again."""
        self._call(self._restore())

    @property
    def open_connections(self) -> int:
        return len(self._links) // 2

    def rewrite(self, url: str) -> str:
        """`url` with the proxy's host and port instead of the target's (user, password, path and query kept)."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # ---- the proxy (on its own loop) ------------------------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self, silent: bool) -> None:
        assert self._flowing is not None
        if silent:
            self._flowing.clear()
            return
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._close_all(reset=True)
        if server is not None:
            await server.wait_closed()  # (3.12+ waits for the connections, so after they are reset)

    async def _restore(self) -> None:
        assert self._flowing is not None
        self._flowing.set()
        if self._server is None:
            await self._listen()

    async def _close_all(self, *, reset: bool) -> None:
        for writer in list(self._links):
            _close(writer, reset=reset)
        self._links.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _close(client_writer, reset=True)
            return
        self._links.update((client_writer, upstream_writer))
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, client_writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._tasks.discard(pipe)
            for writer in (client_writer, upstream_writer):
                if writer in self._links:
                    self._links.discard(writer)
                    _close(writer, reset=False)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass


def _close(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    """Close a connection; with `reset`, abort it with an RST (SO_LINGER 0) as a dead host's peer would see."""
    sock = writer.get_extra_info("socket")
    if reset and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return
    writer.close()

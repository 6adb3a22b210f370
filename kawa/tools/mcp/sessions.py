"""`McpSessions`: one open MCP session per configured server, reused by every call (a new session costs an HTTP
handshake and `initialize`, ~20x a call on a kept one: see bench/mcp_calls.py).

Each session is owned by a task of its own, because the SDK's client must be closed by the task that opened it; calls
from any task share it (JSON-RPC requests carry ids). A session that fails is dropped, and the next call opens a new
one, so a restarted server costs one reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mcp import Client
from mcp.client import Transport
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from kawa.tools.mcp.settings import McpServerSettings

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0


class McpUnreachable(Exception):
    """The server could not be connected to (its reason is logged, not shown: it may name hosts)."""


def _transport(config: McpServerSettings) -> Transport:
    if config.transport == "sse":
        return sse_client(config.url, headers=dict(config.headers), timeout=config.timeout_s)
    return streamable_http_client(config.url, http_client=create_mcp_http_client(headers=dict(config.headers)))


class OpenSession:
    """A client kept open by its own task until `close`."""

    def __init__(self, name: str, config: McpServerSettings) -> None:
        self.name = name
        self._ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._own(config), name=f"mcp-session-{name}")

    async def _own(self, config: McpServerSettings) -> None:
        try:
            async with Client(_transport(config), mode="legacy") as client:
                self._ready.set_result(client)
                await self._closing.wait()
        except Exception as error:  # transport errors arrive bare or grouped by the SDK's task groups
            log.warning("MCP server %s: session ended: %r", self.name, error)
            if not self._ready.done():
                self._ready.set_exception(McpUnreachable(self.name))

    async def client(self) -> Client:
        return await asyncio.shield(self._ready)

    @property
    def ended(self) -> bool:
        return self._task.done()

    async def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(Exception, TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), CLOSE_TIMEOUT_S)
        if not self._task.done():
            self._task.cancel()
        if self._ready.done() and not self._ready.cancelled():
            self._ready.exception()  # retrieved: a failed connect was already reported to its caller


class McpSessions:
    def __init__(self, servers: dict[str, McpServerSettings]) -> None:
        self.servers = servers
        self._open: dict[str, OpenSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, name: str) -> tuple[OpenSession, Client, bool]:
        """The server's session and client, and whether it was opened just now (a reused one may have gone stale)."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            session = self._open.get(name)
            fresh = session is None or session.ended
            if session is None or session.ended:
                session = self._open[name] = OpenSession(name, self.servers[name])
        try:
            return session, await session.client(), fresh
        except McpUnreachable:
            await self.drop(name, session)
            raise

    async def drop(self, name: str, session: OpenSession | None = None) -> None:
        """Forget the server's session (only `session`, when given, not a newer one) and close it."""
        current = self._open.get(name)
        if current is not None and (session is None or current is session):
            del self._open[name]
            await current.close()

    async def aclose(self) -> None:
        for name in list(self._open):
            await self.drop(name)

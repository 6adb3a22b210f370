"""A real MCP server on loopback, built with the official SDK (`MCPServer`), serving the same tools over streamable
HTTP (`/mcp`) and SSE (`/sse`) on two ports. Every tool call is recorded."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from support.server import free_port


@dataclass
class LoopbackMcp:
    http_port: int
    sse_port: int
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/mcp"

    @property
    def sse_url(self) -> str:
        return f"http://127.0.0.1:{self.sse_port}/sse"


def _build(record: LoopbackMcp) -> MCPServer:
    server = MCPServer("warehouse")

    @server.tool(title="Stock lookup", description="How many items of a SKU are in stock.")
    def lookup_stock(sku: str) -> str:
        record.calls.append(("lookup_stock", {"sku": sku}))
        return f"{sku}: 7 in stock"

    @server.tool(description="Always fails.")
    def broken(reason: str = "") -> str:
        record.calls.append(("broken", {"reason": reason}))
        raise ToolError("the warehouse is closed")

    return server


@dataclass
class ServedMcp:
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def serve_streamable_http(record: LoopbackMcp, port: int) -> ServedMcp:
    """The warehouse tools over streamable HTTP on `port` until `stop()` (tests restart servers with it)."""
    return _serve(_build(record).streamable_http_app(), port)


def _serve(app: Any, port: int) -> ServedMcp:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="mcp-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the MCP test server did not start")
        time.sleep(0.01)
    return ServedMcp(server, thread)


@contextmanager
def loopback_mcp() -> Iterator[LoopbackMcp]:
    record = LoopbackMcp(http_port=free_port(), sse_port=free_port())
    servers = [serve_streamable_http(record, record.http_port), _serve(_build(record).sse_app(), record.sse_port)]
    try:
        yield record
    finally:
        for served in servers:
            served.server.should_exit = True

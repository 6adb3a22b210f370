"""Benchmark of MCP tool calls from kawa: prints the median ms of one tool call through `McpToolbox` (a session per
call, as the tool and agent nodes make them) over streamable HTTP and over SSE, next to a call on a session kept
open, which is the floor a session pool could reach.

Run: `python bench/mcp_calls.py [--calls N]`. The MCP server is built with the official SDK and served on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from mcp import Client
from mcp.client.sse import sse_client
from mcp.server.mcpserver import MCPServer

from kawa.tools.mcp.client import McpToolbox
from kawa.tools.mcp.settings import McpSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server() -> MCPServer:
    server = MCPServer("bench")

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    return server


def _serve(app: Any) -> int:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return port


async def _median_ms(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    await call()  # warm-up: imports, connection setup
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(calls: int) -> None:
    http_url = f"http://127.0.0.1:{_serve(_server().streamable_http_app())}/mcp"
    sse_url = f"http://127.0.0.1:{_serve(_server().sse_app())}/sse"
    toolbox = McpToolbox(
        McpSettings.model_validate(
            {"servers": {"http": {"url": http_url}, "sse": {"url": sse_url, "transport": "sse"}}}
        )
    )
    for name in ("http", "sse"):
        tool = await toolbox.find(name, "echo")
        assert tool is not None
        per_call = await _median_ms(lambda tool=tool: tool.call({"text": "hi"}), calls)
        transport = http_url if name == "http" else sse_client(sse_url)
        async with Client(transport, mode="legacy") as kept:
            floor = await _median_ms(lambda kept=kept: kept.call_tool("echo", {"text": "hi"}), calls)
        print(f"{name:>4}: tool call via McpToolbox {per_call:7.2f} ms   on a kept session {floor:6.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=30)
    asyncio.run(main(parser.parse_args().calls))

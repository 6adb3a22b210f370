"""MCP sessions are kept per server and survive the server's restart: the stale session is replaced on the next call,
whose result the caller gets as if nothing happened."""

from __future__ import annotations

from support.mcp_server import LoopbackMcp, serve_streamable_http
from support.server import free_port

from kawa.tools.mcp.client import McpToolbox
from kawa.tools.mcp.settings import McpSettings


async def test_calls_share_one_session_and_a_restarted_server_costs_one_reconnect() -> None:
    port = free_port()
    record = LoopbackMcp(http_port=port, sse_port=0)
    served = serve_streamable_http(record, port)
    toolbox = McpToolbox(McpSettings.model_validate({"servers": {"wh": {"url": record.http_url}}}))
    try:
        tool = await toolbox.find("wh", "lookup_stock")
        assert tool is not None
        first, _, _ = await toolbox.sessions.get("wh")
        assert (await tool.call({"sku": "A"})).text == "A: 7 in stock"
        assert (await tool.call({"sku": "B"})).text == "B: 7 in stock"
        again, _, fresh = await toolbox.sessions.get("wh")
        assert again is first and not fresh  # one session for the listing and both calls

        served.stop()
        served = serve_streamable_http(record, port)
        assert (await tool.call({"sku": "C"})).text == "C: 7 in stock"
        assert record.calls == [("lookup_stock", {"sku": s}) for s in "ABC"]
        replaced, _, _ = await toolbox.sessions.get("wh")
        assert replaced is not first
    finally:
        await toolbox.aclose()
        served.stop()

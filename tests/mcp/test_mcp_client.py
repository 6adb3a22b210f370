"""MCP servers' tools in tool nodes: a real kawa server with `[mcp.servers]` settings calls an SDK-built MCP server
on loopback over streamable HTTP and over SSE; Dify's MCP provider ids map to the configured servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from support.apps import import_app
from support.clients import client_for, make_settings
from support.mcp_server import LoopbackMcp, loopback_mcp
from support.server import RunningServer, free_port, start_server


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[LoopbackMcp]:
    with loopback_mcp() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    database_url: str, mcp_server: LoopbackMcp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    mcp = {
        "servers": {
            "warehouse": {"url": mcp_server.http_url, "dify_ids": ["5f0c0a6e-mcp-provider-in-dify"]},
            "warehouse-sse": {"url": mcp_server.sse_url, "transport": "sse"},
            "gone": {"url": f"http://127.0.0.1:{free_port()}/mcp", "timeout_s": 5},
        }
    }
    running = start_server(make_settings(tmp_path_factory.mktemp("mcp-client-home"), database_url, mcp=mcp))
    yield running
    running.stop()


def tool_workflow(name: str, provider_id: str, tool_name: str, parameters: dict[str, Any]) -> str:
    nodes = [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [{"variable": "sku", "label": "SKU", "type": "text-input", "required": True}],
            },
        },
        {
            "id": "tool",
            "data": {
                "type": "tool",
                "title": "Stock",
                "provider_type": "mcp",
                "provider_id": provider_id,
                "provider_name": provider_id,
                "tool_name": tool_name,
                "tool_label": tool_name,
                "tool_configurations": {},
                "tool_parameters": parameters,
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [
                    {"variable": "text", "value_selector": ["tool", "text"]},
                    {"variable": "json", "value_selector": ["tool", "json"]},
                ],
            },
        },
    ]
    edges = [
        {"id": f"{a}-{b}", "source": a, "target": b, "sourceHandle": "source", "targetHandle": "target"}
        for a, b in (("start", "tool"), ("tool", "end"))
    ]
    return yaml.safe_dump(
        {
            "version": "0.6.0",
            "kind": "app",
            "app": {"name": name, "mode": "workflow"},
            "workflow": {"graph": {"nodes": nodes, "edges": edges}, "features": {}},
        }
    )


SKU_FROM_INPUT = {"sku": {"type": "variable", "value": ["start", "sku"]}}


def run(server: RunningServer, text: str, sku: str = "SKU-1") -> dict[str, Any]:
    app = import_app(server.settings, text)
    with client_for(server, app.api_key) as client:
        response = client.post("/workflows/run", json={"inputs": {"sku": sku}, "user": "ada"})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


@pytest.mark.parametrize(
    ("provider_id", "transport"),
    [("warehouse", "streamable_http"), ("5f0c0a6e-mcp-provider-in-dify", "streamable_http"), ("warehouse-sse", "sse")],
)
def test_a_tool_node_calls_the_mcp_tool(
    provider_id: str, transport: str, server: RunningServer, mcp_server: LoopbackMcp
) -> None:
    mcp_server.calls.clear()
    data = run(server, tool_workflow(f"MCP {provider_id}", provider_id, "lookup_stock", SKU_FROM_INPUT), "SKU-42")
    assert data["status"] == "succeeded", data
    assert data["outputs"]["text"] == "SKU-42: 7 in stock"
    assert mcp_server.calls == [("lookup_stock", {"sku": "SKU-42"})]


def test_an_mcp_tool_error_fails_the_node_with_the_server_s_message(server: RunningServer) -> None:
    data = run(server, tool_workflow("MCP broken", "warehouse", "broken", {}))
    assert data["status"] == "failed"
    assert "the warehouse is closed" in data["error"]


def test_an_unreachable_mcp_server_fails_the_node_without_its_address(server: RunningServer) -> None:
    data = run(server, tool_workflow("MCP gone", "gone", "lookup_stock", SKU_FROM_INPUT))
    assert data["status"] == "failed"
    assert data["error"] == "MCP server gone could not be reached or refused the request."


def test_an_unknown_tool_of_a_configured_server_is_not_available(server: RunningServer) -> None:
    data = run(server, tool_workflow("MCP unknown tool", "warehouse", "no_such_tool", {}))
    assert data["status"] == "failed"
    assert data["error"] == "Tool no_such_tool of provider warehouse is not available in kawa."

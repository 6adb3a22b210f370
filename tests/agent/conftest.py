"""Fixtures of the agent node tests: the fake OpenAI-compatible upstream, a real MCP server (SDK) on loopback, and a
real kawa server configured with both, in which the `Order status` workflow is published as a tool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_apps import order_status_workflow
from fakes.openai_server import FakeOpenAI
from support.apps import ImportedApp, import_app
from support.clients import make_settings
from support.mcp_server import LoopbackMcp, loopback_mcp
from support.server import RunningServer, start_server
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(upstream: FakeOpenAI) -> FakeOpenAI:
    upstream.reset()
    return upstream


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[LoopbackMcp]:
    with loopback_mcp() as server:
        yield server


@pytest.fixture
def mcp_calls(mcp_server: LoopbackMcp) -> LoopbackMcp:
    mcp_server.calls.clear()
    return mcp_server


@pytest.fixture(scope="module")
def agent_server(
    database_url: str, upstream: FakeOpenAI, mcp_server: LoopbackMcp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, timeout_s=5.0)
    mcp = {"servers": {"warehouse": {"url": mcp_server.http_url, "dify_ids": ["warehouse-id-in-dify"]}}}
    server = start_server(make_settings(tmp_path_factory.mktemp("agent-home"), database_url, models=models, mcp=mcp))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def order_tool(agent_server: RunningServer) -> ImportedApp:
    return import_app(agent_server.settings, order_status_workflow())

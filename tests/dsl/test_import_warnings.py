"""`kawa app import` lists what kawa cannot run (unknown tools, agent strategies, models without a provider) as
warnings, on stderr and in `--json`; the import itself succeeds, and runnable apps import without such warnings."""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kawa.cli import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"
NODE = {"type": "custom", "position": {"x": 0, "y": 0}}


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KAWA_")}
    env.update(
        KAWA_HOME=str(tmp_path / "home"),
        KAWA_DATABASE_URL=database_url,
        KAWA_MODELS__PROVIDERS='{"openai": {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-x"}}',
        KAWA_MODELS__EMBEDDED__ENABLED="false",
    )
    return env


def import_json(env: dict[str, str | None], path: Path) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["app", "import", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def node(node_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {**NODE, "id": node_id, "data": {"title": node_id, **data}}


def workflow_with(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    chain = ["start", *[n["id"] for n in nodes], "end"]
    edges = [
        {"id": f"e{i}", "source": a, "sourceHandle": "source", "target": b, "targetHandle": "target"}
        for i, (a, b) in enumerate(pairwise(chain))
    ]
    start = node("start", {"type": "start", "variables": []})
    end = node("end", {"type": "end", "outputs": []})
    graph = {"edges": edges, "nodes": [start, *nodes, end]}
    return {
        "version": "0.6.0",
        "kind": "app",
        "app": {"name": "Needs things", "mode": "workflow"},
        "workflow": {"environment_variables": [], "conversation_variables": [], "features": {}, "graph": graph},
    }


def tool(node_id: str, provider: str, name: str) -> dict[str, Any]:
    return node(
        node_id,
        {"type": "tool", "provider_id": provider, "provider_type": "builtin", "tool_name": name, "tool_parameters": {}},
    )


def llm(node_id: str, provider: str, model: str) -> dict[str, Any]:
    return node(
        node_id,
        {
            "type": "llm",
            "model": {"provider": provider, "name": model, "mode": "chat", "completion_params": {}},
            "prompt_template": [{"role": "user", "text": "hi"}],
            "context": {"enabled": False},
        },
    )


def agent(node_id: str, strategy: str) -> dict[str, Any]:
    model = {"provider": "langgenius/openai/openai", "model": "gpt-4o", "model_type": "llm"}
    tools = [{"provider_name": "langgenius/tavily/tavily", "tool_name": "tavily_search", "type": "builtin"}]
    return node(
        node_id,
        {
            "type": "agent",
            "agent_strategy_provider_name": "langgenius/agent/agent",
            "agent_strategy_name": strategy,
            "agent_parameters": {
                "model": {"type": "constant", "value": model},
                "tools": {"type": "constant", "value": tools},
                "query": {"type": "constant", "value": "hi"},
            },
        },
    )


def test_every_node_kawa_cannot_run_is_a_warning(env, tmp_path: Path) -> None:
    nodes = [
        tool("export", "bowenliang123/md_exporter/md_exporter", "md_to_docx"),
        tool("search", "langgenius/google/google", "google_search"),
        llm("writer", "langgenius/openai/openai", "gpt-4o"),
        llm("claude", "langgenius/anthropic/anthropic", "claude-3-5-sonnet"),
        agent("planner", "mcp_sse_strategy"),
    ]
    path = tmp_path / "app.yml"
    path.write_text(yaml.safe_dump(workflow_with(nodes)))
    out, stderr = import_json(env, path)
    assert out["app_id"] and out["api_key"]
    warnings = out["warnings"]
    assert any("'search'" in w and "google_search" in w and "not available" in w for w in warnings), warnings
    assert any("'claude'" in w and "anthropic" in w for w in warnings), warnings
    assert any("'planner'" in w and "mcp_sse_strategy" in w for w in warnings), warnings
    assert any("'planner'" in w and "tavily_search" in w for w in warnings), warnings
    assert not any("'export'" in w or "'writer'" in w for w in warnings), warnings
    assert len(warnings) == 4, warnings
    assert all(f"warning: {w}" in stderr for w in warnings)


def test_a_runnable_export_imports_without_warnings(env) -> None:
    out, _ = import_json(env, FIXTURES / "agent-tools.yml")
    assert [w for w in out["warnings"] if not w.startswith("DSL version")] == []


def test_an_agent_chat_app_lists_its_missing_tools(env, tmp_path: Path) -> None:
    document = yaml.safe_load((FIXTURES / "agent-tools.yml").read_text())
    document["model_config"]["agent_mode"]["tools"].append(
        {
            "enabled": True,
            "provider_id": "langgenius/dalle/dalle",
            "provider_name": "dalle",
            "provider_type": "builtin",
            "tool_label": "DALL-E 3",
            "tool_name": "dalle3",
            "tool_parameters": {},
        }
    )
    path = tmp_path / "agent.yml"
    path.write_text(yaml.safe_dump(document))
    out, _ = import_json(env, path)
    [missing] = [w for w in out["warnings"] if not w.startswith("DSL version")]
    assert "dalle3" in missing and "not available" in missing

"""Files the agent node's tools make (here a chart) are kept and come back in the node's `files` output as Dify file
values whose signed URL serves them, with both strategies."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from agent_apps import agent_node, agent_workflow
from fakes.openai_server import FakeOpenAI, Scenario
from PIL import Image
from support.apps import import_app
from support.clients import client_for
from support.server import RunningServer
from support.sse import stream_events

CHART_TOOL: dict[str, Any] = {
    "enabled": True,
    "type": "builtin",
    "provider_name": "langgenius/chart/chart",
    "tool_name": "bar_chart",
    "tool_label": "Bar Chart",
    "parameters": {"data": {"auto": 1, "value": None}, "x_axis": {"auto": 1, "value": None}},
    "settings": {},
    "extra": {"description": ""},
}


@pytest.mark.parametrize("strategy", ["function_calling", "ReAct"])
def test_a_chart_the_agent_node_draws_is_in_its_files_output(
    strategy: str, agent_server: RunningServer, fake: FakeOpenAI
) -> None:
    arguments = {"data": "4;1;3", "x_axis": "north;south;east"}
    if strategy == "function_calling":
        script = [Scenario(text="", tool_calls=[("bar_chart", arguments)]), Scenario(text="Drawn.")]
    else:
        script = [
            Scenario(text=f"Thought: draw it.\nAction: bar_chart\nAction Input: {json.dumps(arguments)}"),
            Scenario(text="Thought: done.\nFinal Answer: Drawn."),
        ]
    fake.on_model_in_turn("gpt-4o-mini", script)
    app = import_app(
        agent_server.settings, agent_workflow(f"Chart agent {strategy}", agent_node(strategy, [CHART_TOOL]))
    )
    with client_for(agent_server, app.api_key) as client:
        response, events = stream_events(
            client, "/workflows/run", {"inputs": {"question": "Chart it"}, "user": "ada", "response_mode": "streaming"}
        )
    assert response.status_code == 200
    agent = next(e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "agent")
    assert agent["status"] == "succeeded", agent
    [file] = agent["outputs"]["files"]
    assert file["transfer_method"] == "tool_file" and file["type"] == "image" and file["filename"] == "bar_chart.png"
    served = httpx.get(file["url"], timeout=10)
    assert served.status_code == 200 and Image.open(io.BytesIO(served.content)).size == (1000, 800)

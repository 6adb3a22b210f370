"""An agent-chat app whose tool makes a file, through a real `kawa serve` with a protocol-faithful OpenAI upstream on
loopback that really calls the tool: the file is kept, streamed as Dify's `message_file` event (before the step that
made it, which lists it in `message_files`), and stored with the message (`belongs_to: assistant`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fakes.openai_server import FakeOpenAI, Scenario
from PIL import Image
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events
from support.upstream import upstream_models

API_KEY = "sk-agent-files-test"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream)
    running = start_server(make_settings(tmp_path_factory.mktemp("agent-files-home"), database_url, models=models))
    yield running
    running.stop()


def chart_agent() -> str:
    document = yaml.safe_load((FIXTURES / "agent-tools.yml").read_text())
    document["model_config"]["agent_mode"]["tools"] = [
        {
            "enabled": True,
            "provider_id": "langgenius/chart/chart",
            "provider_name": "chart",
            "provider_type": "builtin",
            "tool_label": "Bar Chart",
            "tool_name": "bar_chart",
            "tool_parameters": {},
        }
    ]
    return yaml.safe_dump(document)


def test_a_chart_the_agent_draws_arrives_as_a_message_file(server: RunningServer, upstream: FakeOpenAI) -> None:
    upstream.reset()
    upstream.on_model_in_turn(
        "gpt-4o-mini",
        [
            Scenario(text="", tool_calls=[("bar_chart", {"data": "3;5;2", "x_axis": "a;b;c"})]),
            Scenario(text="Here is your chart."),
        ],
    )
    app = import_app(server.settings, chart_agent())
    body = {"query": "Chart 3, 5, 2", "inputs": {}, "user": "ada", "response_mode": "streaming"}
    with client_for(server, app.api_key) as client:
        response, events = stream_events(client, "/chat-messages", {**body, "auto_generate_name": False})
        assert response.status_code == 200
        names = [e["event"] for e in events]
        [file_event] = [e for e in events if e["event"] == "message_file"]
        assert file_event["type"] == "image" and file_event["belongs_to"] == "assistant"
        assert file_event["conversation_id"] and file_event["message_id"]
        served = httpx.get(file_event["url"], timeout=10)
        assert served.status_code == 200
        assert Image.open(io.BytesIO(served.content)).size == (1000, 800)

        thoughts = [e for e in events if e["event"] == "agent_thought"]
        made = [t for t in thoughts if t["tool"] == "bar_chart" and t["observation"]]
        assert made and made[-1]["message_files"] == [file_event["id"]]
        assert names.index("message_file") < names.index("agent_thought", events.index(made[0]))
        assert names[-1] == "message_end"

        history = client.get("/messages", params={"conversation_id": file_event["conversation_id"], "user": "ada"})
        [stored] = history.json()["data"]
        assert stored["answer"] == "Here is your chart."
        [kept] = stored["message_files"]
        assert kept["id"] == file_event["id"] and kept["belongs_to"] == "assistant" and kept["type"] == "image"

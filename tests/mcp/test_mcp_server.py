"""Apps published as MCP servers (`kawa app mcp APP`), called with the official MCP SDK's client over streamable HTTP
against a real `kawa serve` process: the input form is the tool schema, a call runs the app, codes are secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from mcp import Client
from support.server import free_port
from typer.testing import CliRunner

from kawa.cli import cli

KAWA = [sys.executable, "-m", "kawa.cli"]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"
API_KEY = "sk-upstream-test-key"


@dataclass
class KawaProcess:
    env: dict[str, str]
    base_url: str

    def cli(self, *args: str) -> Any:
        """The `kawa` command line, in this process, on the served database (its JSON output)."""
        env = {k: None for k in os.environ if k.startswith("KAWA_")} | {
            k: v for k, v in self.env.items() if k.startswith("KAWA_")
        }
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def publish(self, fixture: str) -> str:
        """Import a fixture app, publish it over MCP, and return its MCP endpoint URL."""
        app_id = self.cli("app", "import", str(FIXTURES / fixture), "--json")["app_id"]
        published = self.cli("app", "mcp", app_id, "--json")
        assert published["status"] == "active" and len(published["server_code"]) == 16
        assert published["url"] == f"{self.base_url}/mcp/server/{published['server_code']}/mcp"
        return str(published["url"])


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def kawa_serve(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KawaProcess]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(
        KAWA_HOME=str(tmp_path_factory.mktemp("mcp-home")),
        KAWA_DATABASE_URL=database_url,
        KAWA_PORT=str(port),
        KAWA_MODELS__PROVIDERS=json.dumps({"openai": {"base_url": upstream.base_url, "api_key": API_KEY}}),
        KAWA_MODELS__EMBEDDED__CHAT="false",
    )
    proc = subprocess.Popen([*KAWA, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "kawa serve did not come up"
            time.sleep(0.05)
        yield KawaProcess(env=env, base_url=base_url)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


async def _list_and_call(url: str, arguments: dict[str, Any] | None) -> tuple[list[mcp_types.Tool], Any]:
    async with Client(url, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool(tools[0].name, arguments) if arguments is not None else None
    return tools, result


def test_a_workflow_app_is_one_tool_whose_schema_is_its_input_form(kawa_serve: KawaProcess) -> None:
    url = kawa_serve.publish("workflow-hello.yml")
    tools, result = anyio.run(_list_and_call, url, {"name": "Ada"})

    assert [t.name for t in tools] == ["hello_kawa"]
    assert tools[0].description == "Greets a name and counts its letters. Runs offline, no model needed."
    assert tools[0].input_schema == {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 48, "description": "Your name"}},
        "required": ["name"],
    }
    assert not result.is_error
    assert json.loads(result.content[0].text) == {"greeting": "Hello, Ada! Your name has 3 letters."}


def test_bad_arguments_come_back_as_a_tool_error_with_dify_s_message(kawa_serve: KawaProcess) -> None:
    url = kawa_serve.publish("workflow-hello.yml")
    _, result = anyio.run(_list_and_call, url, {})
    assert result.is_error and result.content[0].text == "name is required in input form"


def test_a_chat_app_takes_a_query_and_answers_with_the_model(kawa_serve: KawaProcess, upstream: FakeOpenAI) -> None:
    upstream.reset()
    upstream.on_model("gpt-4o-mini", Scenario(text="It is 21 degrees in Kyoto."))
    url = kawa_serve.publish("chat-assistant.yml")
    tools, result = anyio.run(_list_and_call, url, {"query": "Weather in Kyoto?", "unit": "celsius"})

    schema = tools[0].input_schema
    assert schema["required"] == ["query", "unit"]
    assert schema["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert not result.is_error and result.content[0].text == "It is 21 degrees in Kyoto."
    assert upstream.requests[-1].body["messages"][-1]["content"] == "Weather in Kyoto?"


def test_unknown_disabled_and_replaced_codes_answer_404(kawa_serve: KawaProcess) -> None:
    url = kawa_serve.publish("workflow-hello.yml")
    app_id = None
    for app in kawa_serve.cli("app", "list", "--json"):
        app_id = app["id"]  # the last imported: this test's
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}

    assert httpx.post(url, json=ping, headers=headers).status_code == 200
    missing = httpx.post(f"{kawa_serve.base_url}/mcp/server/NoSuchCode000000/mcp", json=ping, headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "MCP server not found or disabled.", "status": 404}

    assert kawa_serve.cli("app", "mcp", str(app_id), "--disable", "--json")["status"] == "inactive"
    assert httpx.post(url, json=ping, headers=headers).status_code == 404

    renewed = kawa_serve.cli("app", "mcp", str(app_id), "--new-code", "--json")
    assert renewed["url"] != url
    assert httpx.post(url, json=ping, headers=headers).status_code == 404
    assert httpx.post(renewed["url"], json=ping, headers=headers).status_code == 200

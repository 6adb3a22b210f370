"""Dify's per-message cost fields on `/messages` (the tokens, time and price each turn recorded) and `/site`'s
`input_placeholder`, through a real server and a loopback OpenAI upstream with prices set (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.upstream import upstream_models

PRICES = {"openai/gpt-4o-mini": {"input": "0.15", "output": "0.60", "unit": "0.000001"}}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-fields") as fake:
        yield fake


@pytest.fixture(scope="module")
def priced_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, prices=PRICES, timeout_s=5.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("fields-home"), database_url, models=models))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chat_app(priced_server: RunningServer) -> ImportedApp:
    return import_app(priced_server.settings, "chat-assistant.yml")


@pytest.fixture
def chat(priced_server: RunningServer, chat_app: ImportedApp) -> Iterator[httpx.Client]:
    with client_for(priced_server, chat_app.api_key) as client:
        yield client


def _send(chat: httpx.Client, query: str, cid: str = "") -> dict[str, object]:
    body = {
        "query": query,
        "inputs": {"unit": "celsius"},
        "user": "dora",
        "conversation_id": cid,
        "auto_generate_name": False,  # naming would be one more model call
    }
    response = chat.post("/chat-messages", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_messages_carry_the_tokens_time_and_price_each_turn_recorded(chat: httpx.Client, upstream: FakeOpenAI) -> None:
    upstream.reset()
    upstream.on_model_in_turn(
        "gpt-4o-mini", [Scenario(text="Sunny."), Scenario(text="Rain will follow in the evening, then wind.")]
    )
    first = _send(chat, "Weather today?")
    cid = str(first["conversation_id"])
    second = _send(chat, "And later?", cid)
    stored = chat.get("/messages", params={"conversation_id": cid, "user": "dora"}).json()["data"]
    assert [m["id"] for m in stored] == [first["message_id"], second["message_id"]]
    for message, answer in zip(stored, (first, second), strict=True):
        usage = answer["metadata"]["usage"]  # type: ignore[index]
        assert message["message_tokens"] == usage["prompt_tokens"] > 0
        assert message["answer_tokens"] == usage["completion_tokens"] > 0
        assert message["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert Decimal(message["total_price"]) == Decimal(usage["total_price"]).quantize(Decimal("0.0000001"))
        assert Decimal(message["total_price"]) > 0 and message["currency"] == "USD"
        assert isinstance(message["provider_response_latency"], float) and message["provider_response_latency"] > 0
        # Dify's Service API records no thread parent for its messages: the nil UUID
        assert message["parent_message_id"] == "00000000-0000-0000-0000-000000000000"
    assert stored[1]["answer_tokens"] > stored[0]["answer_tokens"]  # stored per message, not a constant


def test_a_failed_turn_records_zero_cost(chat: httpx.Client, upstream: FakeOpenAI) -> None:
    upstream.reset()
    upstream.on_model("gpt-4o-mini", Scenario(status=400, error_message="Bad request upstream"))
    response = chat.post("/chat-messages", json={"query": "x", "inputs": {"unit": "celsius"}, "user": "dora"})
    assert response.status_code == 400
    conversations = chat.get("/conversations", params={"user": "dora", "limit": 1}).json()["data"]
    stored = chat.get("/messages", params={"conversation_id": conversations[0]["id"], "user": "dora"}).json()
    failed = stored["data"][-1]
    assert failed["status"] == "error"
    assert failed["message_tokens"] == 0 and failed["answer_tokens"] == 0 and failed["total_tokens"] == 0
    assert failed["total_price"] == "0.0000000" and failed["currency"] == "USD"


def test_site_has_an_input_placeholder(chat: httpx.Client) -> None:
    site = chat.get("/site").json()
    assert "input_placeholder" in site and site["input_placeholder"] is None

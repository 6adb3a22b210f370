"""Chatflow (advanced-chat) messages as Dify answers them: `usage` is the sum of the run's model calls in Dify's full
shape (as easy-UI apps send it), and a run that fails answers `invalid_param` 400 "Run failed: <error>"."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events
from support.upstream import upstream_models

from kawa.models.types import Usage

API_KEY = "sk-upstream-test-key"
MODEL = "gpt-4o-mini"

_LLM = """
    - id: {id}
      type: custom
      data:
        type: llm
        title: {id}
        variables: []
        context: {{enabled: false, variable_selector: []}}
        vision: {{enabled: false}}
        memory: null
        model: {{provider: langgenius/openai/openai, name: gpt-4o-mini, mode: chat, completion_params: {{}}}}
        prompt_template:
        - {{id: p1, role: user, text: '{prompt}', edition_type: basic}}
"""

TWO_MODEL_CALLS = (
    """
app: {mode: advanced-chat, name: Asks twice}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, sourceHandle: source, target: first, targetHandle: target, type: custom}
    - {id: e2, source: first, sourceHandle: source, target: second, targetHandle: target, type: custom}
    - {id: e3, source: second, sourceHandle: source, target: answer, targetHandle: target, type: custom}
    nodes:
    - id: start
      type: custom
      data: {type: start, title: Start, variables: []}
"""
    + _LLM.format(id="first", prompt="{{#sys.query#}}")
    + _LLM.format(id="second", prompt="Say more about {{#first.text#}}")
    + """
    - id: answer
      type: custom
      data: {type: answer, title: Answer, answer: '{{#first.text#}} / {{#second.text#}}', variables: []}
"""
)

FAILING = """
app: {mode: advanced-chat, name: Breaks}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, sourceHandle: source, target: code, targetHandle: target, type: custom}
    - {id: e2, source: code, sourceHandle: source, target: answer, targetHandle: target, type: custom}
    nodes:
    - id: start
      type: custom
      data: {type: start, title: Start, variables: []}
    - id: code
      type: custom
      data:
        type: code
        title: Breaks
        code_language: python3
        code: |
          def main() -> dict:
              raise ValueError("the ledger is closed")
        variables: []
        outputs: {x: {type: string, children: null}}
    - id: answer
      type: custom
      data: {type: answer, title: Answer, answer: '{{#code.x#}}', variables: []}
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def model_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    prices = {f"openai/{MODEL}": {"input": "0.15", "output": "0.60", "unit": "0.000001"}}
    models = upstream_models(upstream, prices=prices, timeout_s=5.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("chatflow-usage"), database_url, models=models))
    yield server
    server.stop()


def body(mode: str) -> dict[str, object]:
    return {"query": "Tell me about otters", "inputs": {}, "user": "alice", "response_mode": mode}


def expected_usage(node_usages: list[dict]) -> dict:
    """The sum, as Dify adds usages: tokens and prices add up, unit prices are the last call's."""
    prompt = sum(u["prompt_tokens"] for u in node_usages)
    completion = sum(u["completion_tokens"] for u in node_usages)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_unit_price": node_usages[-1]["prompt_unit_price"],
        "prompt_price_unit": node_usages[-1]["prompt_price_unit"],
        "completion_unit_price": node_usages[-1]["completion_unit_price"],
        "completion_price_unit": node_usages[-1]["completion_price_unit"],
        "prompt_price": sum(Decimal(u["prompt_price"]) for u in node_usages),
        "completion_price": sum(Decimal(u["completion_price"]) for u in node_usages),
        "total_price": sum(Decimal(u["total_price"]) for u in node_usages),
        "currency": "USD",
    }


def comparable(usage: dict) -> dict:
    picked = {key: usage[key] for key in expected_usage([usage])}
    for key in ("prompt_price", "completion_price", "total_price"):
        picked[key] = Decimal(picked[key])
    return picked


def test_message_end_usage_is_the_sum_of_the_runs_model_calls_in_difys_shape(
    model_server: RunningServer, upstream: FakeOpenAI
) -> None:
    upstream.reset()
    upstream.on_model_in_turn(MODEL, [Scenario(text="Otters hold hands."), Scenario(text="They sleep afloat.")])
    with client_for(model_server, import_app(model_server.settings, TWO_MODEL_CALLS).api_key) as chat:
        response, events = stream_events(chat, "/chat-messages", body("streaming"))
    assert response.status_code == 200
    llm_usages = [
        e["data"]["outputs"]["usage"]
        for e in events
        if e["event"] == "node_finished" and e["data"]["node_type"] == "llm"
    ]
    assert len(llm_usages) == 2 and all(u["completion_tokens"] > 0 for u in llm_usages)
    usage = events[-1]["metadata"]["usage"]
    assert events[-1]["event"] == "message_end"
    assert set(usage) == set(Usage.model_fields)  # the same fields as a chat app's usage
    assert comparable(usage) == expected_usage(llm_usages)
    assert Decimal(usage["total_price"]) > 0 and usage["prompt_price_unit"] == "0.000001"


def test_blocking_metadata_usage_has_the_token_split_and_prices(
    model_server: RunningServer, upstream: FakeOpenAI
) -> None:
    upstream.reset()
    upstream.on_model_in_turn(MODEL, [Scenario(text="One two three."), Scenario(text="Four five.")])
    with client_for(model_server, import_app(model_server.settings, TWO_MODEL_CALLS).api_key) as chat:
        reply = chat.post("/chat-messages", json=body("blocking"))
    assert reply.status_code == 200, reply.text
    usage = reply.json()["metadata"]["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert Decimal(usage["total_price"]) == Decimal(usage["prompt_price"]) + Decimal(usage["completion_price"])
    for key in ("prompt_unit_price", "completion_unit_price", "prompt_price_unit", "completion_price_unit"):
        assert isinstance(usage[key], str) and Decimal(usage[key]) > 0


def test_a_failed_chatflow_run_answers_invalid_param_400_run_failed(model_server: RunningServer) -> None:
    with client_for(model_server, import_app(model_server.settings, FAILING).api_key) as chat:
        reply = chat.post("/chat-messages", json=body("blocking"))
    assert reply.status_code == 400, reply.text
    error = reply.json()
    assert set(error) == {"code", "message", "status"}
    assert (error["code"], error["status"]) == ("invalid_param", 400)
    assert error["message"].startswith("Run failed: ") and "the ledger is closed" in error["message"]


def test_a_failed_chatflow_stream_ends_with_an_invalid_param_error_event(model_server: RunningServer) -> None:
    with client_for(model_server, import_app(model_server.settings, FAILING).api_key) as chat:
        response, events = stream_events(chat, "/chat-messages", body("streaming"))
    assert response.status_code == 200
    names = [e["event"] for e in events]
    assert names[-2:] == ["workflow_finished", "error"], names
    error = events[-1]
    assert (error["code"], error["status"]) == ("invalid_param", 400)
    assert error["message"].startswith("Run failed: ") and "the ledger is closed" in error["message"]


def test_the_failed_message_keeps_the_reason(model_server: RunningServer) -> None:
    with client_for(model_server, import_app(model_server.settings, FAILING).api_key) as chat:
        reply = chat.post("/chat-messages", json=body("blocking"))
        assert reply.status_code == 400
        conversations = chat.get("/conversations", params={"user": "alice"}).json()["data"]
        messages = chat.get("/messages", params={"user": "alice", "conversation_id": conversations[0]["id"]}).json()[
            "data"
        ]
    assert messages[-1]["status"] == "error" and "the ledger is closed" in messages[-1]["error"]

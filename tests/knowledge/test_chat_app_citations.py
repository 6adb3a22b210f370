"""A chat app with a dataset, through a real server (SQLite and PostgreSQL) and a fake OpenAI upstream: the context
reaches the model and `retriever_resources` cite the right segment in blocking answers, message_end and /messages."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fakes.openai_server import FakeOpenAI, Scenario
from kb_helpers import add_text, new_dataset
from support.server import RunningServer, free_port, start_server
from support.upstream import upstream_models

from kawa.dsl import load_dsl
from kawa.services import open_services
from kawa.settings import Settings
from kawa.workflow.graph import compile_graph

API_KEY = "sk-upstream-test-key"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dsl" / "chat-assistant.yml"
FAQ = (
    "Opening hours: the Korrin museum is open from nine to five, Tuesday to Sunday.\n\n"
    "Tickets cost twelve euros; children under ten enter for free."
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def chat_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    os.environ.pop("KAWA_DATABASE_URL", None)
    models = upstream_models(upstream, timeout_s=5.0)
    settings = Settings(
        home=tmp_path_factory.mktemp("kb-chat"),
        database_url=database_url,  # type: ignore[call-arg]
        port=free_port(),
        models=models,
    )  # type: ignore[arg-type]
    server = start_server(settings)
    yield server
    server.stop()


def _keys_and_app(settings: Settings, dataset_ids: list[str] | None) -> tuple[str, str]:
    """A dataset key, and (when dataset ids are given) a chat app using them with its app key."""

    async def work() -> tuple[str, str]:
        async with open_services(settings) as services:
            _, dataset_key = await services.keys.create(None, type="dataset")
            if dataset_ids is None:
                return dataset_key, ""
            doc: dict[str, Any] = yaml.safe_load(FIXTURE.read_text())
            doc["model_config"]["dataset_configs"] = {
                "retrieval_model": "multiple",
                "top_k": 2,
                "reranking_enable": False,
                "reranking_mode": "weighted_score",
                "weights": {"vector_setting": {"vector_weight": 0.7}, "keyword_setting": {"keyword_weight": 0.3}},
                "datasets": {"datasets": [{"dataset": {"enabled": True, "id": d}} for d in dataset_ids]},
            }
            app, _ = await services.apps.create(load_dsl(yaml.safe_dump(doc), check_graph=compile_graph))
            _, app_key = await services.keys.create(app.id)
            return dataset_key, app_key

    return asyncio.run(work())


def _client(server: RunningServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@pytest.fixture(scope="module")
def museum(chat_server: RunningServer) -> dict[str, str]:
    dataset_key, _ = _keys_and_app(chat_server.settings, None)
    with _client(chat_server, dataset_key) as kb:
        dataset = new_dataset(kb, "museum")
        document = add_text(kb, dataset["id"], "museum-faq.md", FAQ)
    _, app_key = _keys_and_app(chat_server.settings, [dataset["id"]])
    return {"dataset_id": dataset["id"], "document_id": document["document"]["id"], "app_key": app_key}


def _ask(client: httpx.Client, query: str, **extra: Any) -> httpx.Response:
    return client.post(
        "/chat-messages",
        json={"query": query, "inputs": {"unit": "celsius"}, "user": "alice", "auto_generate_name": False, **extra},
    )


def _check_resources(resources: list[dict[str, Any]], museum: dict[str, str]) -> None:
    top = resources[0]
    assert top["position"] == 1
    assert top["dataset_id"] == museum["dataset_id"] and top["dataset_name"] == "museum"
    assert top["document_id"] == museum["document_id"] and top["document_name"] == "museum-faq.md"
    assert top["content"] == "Tickets cost twelve euros; children under ten enter for free."
    assert isinstance(top["segment_id"], str) and 0 < top["score"] <= 1


def test_blocking_answer_cites_the_segment_and_the_model_sees_it(
    chat_server: RunningServer, upstream: FakeOpenAI, museum: dict[str, str]
) -> None:
    upstream.reset()
    upstream.on_model("gpt-4o-mini", Scenario(text="Twelve euros."))
    with _client(chat_server, museum["app_key"]) as chat:
        response = _ask(chat, "How much is a ticket?", response_mode="blocking")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["answer"] == "Twelve euros."
        _check_resources(body["metadata"]["retriever_resources"], museum)
        system = next(r.body for r in upstream.requests if r.path.endswith("/chat/completions"))["messages"][0]
        assert "Tickets cost twelve euros" in system["content"]

        history = chat.get("/messages", params={"conversation_id": body["conversation_id"], "user": "alice"})
        _check_resources(history.json()["data"][0]["retriever_resources"], museum)


def test_streaming_message_end_carries_the_citations(
    chat_server: RunningServer, upstream: FakeOpenAI, museum: dict[str, str]
) -> None:
    upstream.reset()
    upstream.on_model("gpt-4o-mini", Scenario(text="Twelve euros."))
    with (
        _client(chat_server, museum["app_key"]) as chat,
        chat.stream(
            "POST",
            "/chat-messages",
            json={
                "query": "What does a ticket cost?",
                "inputs": {"unit": "celsius"},
                "user": "alice",
                "response_mode": "streaming",
                "auto_generate_name": False,
            },
        ) as response,
    ):
        events = [json.loads(line[len("data: ") :]) for line in response.iter_lines() if line.startswith("data: ")]
    (end,) = [e for e in events if e["event"] == "message_end"]
    _check_resources(end["metadata"]["retriever_resources"], museum)


def test_a_chat_app_whose_dataset_is_gone_fails_clearly(chat_server: RunningServer, upstream: FakeOpenAI) -> None:
    upstream.reset()
    _, app_key = _keys_and_app(chat_server.settings, ["5e0b1c6e-0000-4000-8000-00000000dead"])
    with _client(chat_server, app_key) as chat:
        response = _ask(chat, "How much is a ticket?", response_mode="blocking")
    assert response.status_code == 400
    assert "5e0b1c6e-0000-4000-8000-00000000dead does not exist on this server" in response.json()["message"]


def test_a_workflow_app_with_a_knowledge_node_answers_from_the_dataset(
    chat_server: RunningServer, museum: dict[str, str]
) -> None:
    nodes = [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [{"variable": "q", "label": "q", "type": "text-input", "required": True}],
            },
        },
        {
            "id": "kr",
            "data": {
                "type": "knowledge-retrieval",
                "title": "Knowledge",
                "query_variable_selector": ["start", "q"],
                "dataset_ids": [museum["dataset_id"]],
                "retrieval_mode": "multiple",
                "multiple_retrieval_config": {"top_k": 1},
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "result", "value_selector": ["kr", "result"]}],
            },
        },
    ]
    edges = [
        {"id": f"e{i}", "source": s, "target": t, "sourceHandle": "source", "targetHandle": "target"}
        for i, (s, t) in enumerate([("start", "kr"), ("kr", "end")])
    ]
    doc = {
        "version": "0.5.0",
        "kind": "app",
        "app": {"name": "museum flow", "mode": "workflow"},
        "workflow": {
            "graph": {"nodes": nodes, "edges": edges, "viewport": {}},
            "features": {},
            "environment_variables": [],
            "conversation_variables": [],
        },
    }

    async def create() -> str:
        async with open_services(chat_server.settings) as services:
            app, _ = await services.apps.create(load_dsl(yaml.safe_dump(doc), check_graph=compile_graph))
            return (await services.keys.create(app.id))[1]

    with _client(chat_server, asyncio.run(create())) as client:
        response = client.post(
            "/workflows/run",
            json={"inputs": {"q": "When is the museum open?"}, "user": "u", "response_mode": "blocking"},
        )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "succeeded", data["error"]
    (item,) = data["outputs"]["result"]
    assert item["content"].startswith("Opening hours: the Korrin museum is open")
    assert item["metadata"]["document_id"] == museum["document_id"]

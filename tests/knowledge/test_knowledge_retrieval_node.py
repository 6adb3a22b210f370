"""The knowledge-retrieval node and the retrieval API for app runners, on a knowledge base built in-process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.apps.knowledge_search import KnowledgeBaseSearch
from kawa.knowledge import RetrievalConfig, retriever_resources_from_context
from kawa.knowledge.errors import MissingDataset
from kawa.knowledge.references import chat_app_dataset_ids, dataset_references
from kawa.knowledge.service import KnowledgeBase
from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings
from kawa.services import Services, open_services
from kawa.settings import Settings
from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.events import WorkflowFinished
from kawa.workflow.graph import compile_graph
from kawa.workflow.runtime import EngineLimits, NodeServices

FERRIES = (
    "The northern ferry leaves Dunmore at seven and carries bicycles for free.\n\n"
    "The southern ferry charges two coins for a bicycle and sails at noon."
)
CASTLES = "Castle Varn was built of black basalt in 1312.\n\nヴァルン城の塔は四十二メートルの高さがあります。"


@pytest.fixture(scope="module")
async def services(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    home = tmp_path_factory.mktemp("kb-node")
    os.environ.pop("KAWA_DATABASE_URL", None)
    async with open_services(Settings(home=home)) as opened:  # type: ignore[call-arg]
        yield opened


async def _dataset(kb: KnowledgeBase, name: str, text: str, description: str = "") -> str:
    dataset = await kb.create_dataset(name=name, description=description, indexing_technique="high_quality")
    rule = {
        "mode": "custom",
        "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n\n", "max_tokens": 200}},
    }
    await kb.add_document(
        dataset.id,
        name=f"{name}.txt",
        data=text.encode(),
        filename=f"{name}.txt",
        mime_type="text/plain",
        data_source_info={},
        process_rule=rule,
    )
    await kb.jobs.wait_idle()
    return dataset.id


@pytest.fixture(scope="module")
async def datasets(services: Services) -> dict[str, str]:
    kb = services.knowledge
    return {
        "ferries": await _dataset(kb, "ferries", FERRIES, "Ferry timetables and fares"),
        "castles": await _dataset(kb, "castles", CASTLES, "Castles and their history"),
    }


def _graph(**node_data: Any) -> dict[str, Any]:
    nodes = [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [
                    {"variable": "q", "label": "q", "type": "text-input", "required": True},
                    {"variable": "region", "label": "region", "type": "text-input", "required": False},
                ],
            },
        },
        {
            "id": "kr",
            "data": {
                "type": "knowledge-retrieval",
                "title": "Knowledge",
                "query_variable_selector": ["start", "q"],
                **node_data,
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
        {"id": "e1", "source": "start", "target": "kr", "sourceHandle": "source", "targetHandle": "target"},
        {"id": "e2", "source": "kr", "target": "end", "sourceHandle": "source", "targetHandle": "target"},
    ]
    return {"nodes": nodes, "edges": edges}


async def _run(services: Services, spec: dict[str, Any], **inputs: Any) -> WorkflowFinished:
    engine = WorkflowEngine(
        compile_graph(spec),
        services=NodeServices(knowledge=KnowledgeBaseSearch(services.knowledge)),
        limits=EngineLimits(),
    )
    events = [e async for e in engine.run(inputs, {}, {}, set(), {}, asyncio.Event())]
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished)
    return finished


async def test_multiple_retrieval_returns_cited_results(services: Services, datasets: dict[str, str]) -> None:
    finished = await _run(
        services,
        _graph(
            dataset_ids=[datasets["ferries"], datasets["castles"]],
            retrieval_mode="multiple",
            multiple_retrieval_config={"top_k": 2, "reranking_enable": False},
        ),
        q="What was Castle Varn built from?",
    )
    assert finished.status == "succeeded", finished.error
    result = finished.outputs["result"]
    assert len(result) == 2
    top = result[0]
    assert top["content"] == "Castle Varn was built of black basalt in 1312."
    assert top["title"] == "castles.txt"
    meta = top["metadata"]
    assert meta["_source"] == "knowledge" and meta["dataset_id"] == datasets["castles"]
    assert meta["dataset_name"] == "castles" and meta["position"] == 1 and 0 < meta["score"] <= 1


async def test_japanese_query_finds_the_japanese_chunk(services: Services, datasets: dict[str, str]) -> None:
    finished = await _run(
        services,
        _graph(dataset_ids=[datasets["castles"], datasets["ferries"]], multiple_retrieval_config={"top_k": 1}),
        q="ヴァルン城の塔の高さは？",
    )
    assert finished.outputs["result"][0]["content"] == "ヴァルン城の塔は四十二メートルの高さがあります。"


async def test_single_retrieval_without_a_model_keeps_the_best_dataset(
    services: Services, datasets: dict[str, str]
) -> None:
    finished = await _run(
        services,
        _graph(dataset_ids=[datasets["castles"], datasets["ferries"]], retrieval_mode="single"),
        q="How much does the southern ferry charge for a bicycle?",
    )
    assert finished.status == "succeeded", finished.error
    names = {item["metadata"]["dataset_name"] for item in finished.outputs["result"]}
    assert names == {"ferries"}


async def test_single_retrieval_searches_the_dataset_the_router_model_picks(
    services: Services, datasets: dict[str, str]
) -> None:
    with FakeOpenAI() as fake:
        fake.on_model("router", Scenario(text='{"number": 2}'))
        models = ModelRuntime(
            ModelsSettings.model_validate(
                {
                    "providers": {"openai": {"base_url": fake.base_url, "api_key": "sk-test"}},
                    "max_retries": 0,
                    "embedded": {"chat": False},
                }
            )
        )
        spec = _graph(
            dataset_ids=[datasets["castles"], datasets["ferries"]],
            retrieval_mode="single",
            single_retrieval_config={"model": {"provider": "openai", "name": "router", "mode": "chat"}},
        )
        engine = WorkflowEngine(
            compile_graph(spec),
            services=NodeServices(knowledge=KnowledgeBaseSearch(services.knowledge), models=models),
            limits=EngineLimits(),
        )
        try:
            events = [
                e
                async for e in engine.run({"q": "What was Castle Varn built from?"}, {}, {}, set(), {}, asyncio.Event())
            ]
        finally:
            await models.aclose()
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished)
    assert finished.status == "succeeded", finished.error
    assert "Ferry timetables and fares" in str(fake.requests[-1].body["messages"][0]["content"])
    names = {item["metadata"]["dataset_name"] for item in finished.outputs["result"]}
    assert names == {"ferries"}  # the router's choice, although the castles dataset holds the answer
    assert finished.total_tokens > 0


async def test_manual_metadata_filter_takes_values_from_variables(services: Services, datasets: dict[str, str]) -> None:
    kb = services.knowledge
    documents = await kb.documents.all_of(datasets["ferries"])
    field = await kb.datasets.create_field(datasets["ferries"], "region", "string")
    await kb.datasets.set_document_values(
        datasets["ferries"], [{"document_id": documents[0].id, "metadata_list": [{"id": field.id, "value": "north"}]}]
    )
    conditions = {
        "logical_operator": "and",
        "conditions": [{"name": "region", "comparison_operator": "is", "value": "{{#start.region#}}"}],
    }
    spec = _graph(
        dataset_ids=[datasets["ferries"]],
        metadata_filtering_mode="manual",
        metadata_filtering_conditions=conditions,
        multiple_retrieval_config={"top_k": 4},
    )
    north = await _run(services, spec, q="ferry", region="north")
    assert len(north.outputs["result"]) == 2
    south = await _run(services, spec, q="ferry", region="south")
    assert south.outputs["result"] == []


async def test_a_missing_dataset_fails_the_node_with_a_clear_error(services: Services) -> None:
    finished = await _run(services, _graph(dataset_ids=["0b8e6a0e-0000-4000-8000-000000000000"]), q="anything")
    assert finished.status == "failed"
    assert finished.error is not None
    assert "Dataset 0b8e6a0e-0000-4000-8000-000000000000 used by this node does not exist" in finished.error


async def test_llm_context_items_become_retriever_resources(services: Services, datasets: dict[str, str]) -> None:
    finished = await _run(
        services, _graph(dataset_ids=[datasets["ferries"]], multiple_retrieval_config={"top_k": 2}), q="ferry bicycles"
    )
    resources = retriever_resources_from_context(finished.outputs["result"])
    assert [r["position"] for r in resources] == [1, 2]
    first = resources[0]
    assert first["dataset_id"] == datasets["ferries"] and first["dataset_name"] == "ferries"
    assert first["document_name"] == "ferries.txt" and first["content"] in FERRIES
    assert {"document_id", "segment_id", "score", "data_source_type", "retriever_from"} <= first.keys()


# ---- the API of the chat runner ----------------------------------------------------------------------------------


async def test_chat_app_retrieval_gives_retriever_resources(services: Services, datasets: dict[str, str]) -> None:
    model_config = {
        "dataset_configs": {
            "retrieval_model": "multiple",
            "top_k": 3,
            "reranking_mode": "weighted_score",
            "reranking_enable": False,
            "weights": {"vector_setting": {"vector_weight": 0.7}, "keyword_setting": {"keyword_weight": 0.3}},
            "datasets": {
                "datasets": [
                    {"dataset": {"enabled": True, "id": datasets["ferries"]}},
                    {"dataset": {"enabled": True, "id": datasets["castles"]}},
                ]
            },
        }
    }
    ids = chat_app_dataset_ids(model_config)
    config = RetrievalConfig.from_dataset_configs(model_config["dataset_configs"])
    assert config.search_method == "hybrid_search" and config.top_k == 3
    segments = await services.knowledge.retrieve(ids, "When does the northern ferry leave?", config)
    resource = segments[0].retriever_resource("dev")
    assert resource["position"] == 1 and resource["dataset_name"] == "ferries"
    assert resource["content"].startswith("The northern ferry leaves Dunmore at seven")
    assert resource["segment_id"] == segments[0].segment_id and resource["retriever_from"] == "dev"
    assert resource["document_name"] == "ferries.txt" and resource["score"] == round(segments[0].score, 6)


async def test_retrieve_with_an_unknown_dataset_raises_a_clear_error(services: Services) -> None:
    with pytest.raises(MissingDataset, match="does not exist on this server"):
        await services.knowledge.retrieve(["no-such-dataset"], "anything")


# ---- DSL import ---------------------------------------------------------------------------------------------------


def test_dataset_references_are_found_in_workflows_and_chat_apps() -> None:
    workflow = {
        "workflow": {"graph": {"nodes": [{"data": {"type": "knowledge-retrieval", "dataset_ids": ["a", "b"]}}]}}
    }
    chat = {
        "model_config": {
            "dataset_configs": {
                "datasets": {
                    "datasets": [{"dataset": {"enabled": True, "id": "c"}}, {"dataset": {"enabled": False, "id": "d"}}]
                }
            }
        }
    }
    assert dataset_references(workflow) == ["a", "b"]
    assert dataset_references(chat) == ["c"]


def test_import_warns_about_a_missing_dataset_and_keeps_the_reference(tmp_path: Path) -> None:
    doc = {
        "version": "0.5.0",
        "kind": "app",
        "app": {"name": "kb app", "mode": "workflow"},
        "workflow": {
            "graph": {**_graph(dataset_ids=["11111111-2222-4333-8444-555555555555"]), "viewport": {}},
            "features": {},
            "environment_variables": [],
            "conversation_variables": [],
        },
    }
    path = tmp_path / "kb-app.yml"
    path.write_text(yaml.safe_dump(doc))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env["KAWA_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "kawa.cli", "app", "import", str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "dataset 11111111-2222-4333-8444-555555555555, which does not exist on this server" in result.stderr
    app_id = json.loads(result.stdout)["app_id"]
    exported = subprocess.run(
        [sys.executable, "-m", "kawa.cli", "app", "export", app_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "11111111-2222-4333-8444-555555555555" in exported.stdout

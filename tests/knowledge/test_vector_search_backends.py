"""HNSW search through the knowledge base on SQLite (graph beside the database file) and on the shared PostgreSQL
(graph in KAWA_HOME/vector-graphs, pgvector not needed): the nearest chunk is found, an edit reaches search, a server
start loads and repairs the saved graph before the first question, and the readiness check says how search runs."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI
from support.server import RunningServer
from support.upstream import upstream_models

from kawa.knowledge import RetrievalConfig
from kawa.knowledge.settings import KnowledgeSettings
from kawa.services import open_services
from kawa.settings import Settings

API_KEY = "sk-graphs"
RULE = {
    "mode": "custom",
    "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n\n", "max_tokens": 200}},
}
SEMANTIC = RetrievalConfig(search_method="semantic_search", top_k=3)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


def settings_for(database_url: str, home: Path, upstream: FakeOpenAI) -> Settings:
    os.environ.pop("KAWA_DATABASE_URL", None)
    models = upstream_models(upstream)
    return Settings(
        home=home,
        database_url=database_url,
        models=models,  # type: ignore[arg-type]
        knowledge=KnowledgeSettings(ann_min_chunks=0),  # a graph from the first vector
    )  # type: ignore[call-arg]


async def test_hnsw_search_on_the_database_backend(
    database_url: str, upstream: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(database_url, tmp_path, upstream)
    chunks = [f"Valve V{i} opens at {10 + i} bar." for i in range(60)]
    async with open_services(settings) as services:
        kb = services.knowledge
        dataset = await kb.create_dataset(
            name=f"valves-{uuid.uuid4().hex[:8]}",
            indexing_technique="high_quality",
            embedding_model="text-embedding-3-small",
            embedding_model_provider="openai",
        )
        document = await kb.add_document(
            dataset.id,
            name="valves.txt",
            data="\n\n".join(chunks).encode(),
            filename="valves.txt",
            mime_type="text/plain",
            data_source_info={},
            process_rule=RULE,
        )
        await kb.jobs.wait_idle()
        hits = await kb.retrieve([dataset.id], chunks[17], SEMANTIC)
        assert hits[0].content == chunks[17]
        files = kb.indexes.policy.files
        assert files is not None and files.size(dataset.id) > 0
        expected = tmp_path / "vector-graphs" if database_url.startswith("postgresql") else None
        assert expected is None or files.directory == expected
        assert kb.search_status()["graphs"] == "files"
        segment = next(s for s in (await kb.documents.segments(document.id, limit=100))[0] if s.content == chunks[5])
        await kb.update_segment(dataset.id, document.id, segment.id, {"content": "Valve V5 now opens at 99 bar."})
        edited = await kb.retrieve([dataset.id], "Valve V5 now opens at 99 bar.", SEMANTIC)
        assert edited[0].segment_id == segment.id and edited[0].content == "Valve V5 now opens at 99 bar."

    caplog.set_level(logging.INFO, logger="kawa.knowledge")
    repaired = f"vector index of dataset {dataset.id} loaded and repaired: 60 vectors (1 added, 1 removed)"
    # A server start: the saved graph (saved before the edit) is loaded and repaired before any question.
    async with open_services(settings, recover_runs=True) as services:
        for _ in range(100):
            if repaired in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert repaired in caplog.text
        hits = await services.knowledge.retrieve([dataset.id], chunks[42], SEMANTIC)
        assert hits[0].content == chunks[42]
    assert caplog.text.count(f"vector index of dataset {dataset.id}") == 1  # loaded once, at start


def test_readiness_says_how_knowledge_search_runs(server: RunningServer) -> None:
    body = httpx.get(f"{server.base_url}/readyz", timeout=10).json()
    assert body["knowledge"] == {
        "ok": True,
        "state": "hnsw",
        "vector_index": "hnswlib-hnsw",
        "exact_below_vectors": 20_000,
        "graphs": "files",
        "pgvector": False,
    }
    assert "knowledge" not in body.get("failing", [])

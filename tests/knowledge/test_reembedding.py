"""Embeddings at volume with an OpenAI-compatible provider (the loopback fake): chunks go in batches of
`embedding_batch`, a rate-limited provider (429 with Retry-After) is waited for, and a dataset whose embedding model
changes is re-embedded in place (same chunks, new vectors, progress per document) instead of searching old vectors
with the new model's queries."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.knowledge import RetrievalConfig
from kawa.knowledge.settings import KnowledgeSettings
from kawa.services import Services, open_services
from kawa.settings import Settings

API_KEY = "sk-reembed"
CHUNKS = 70
BATCH = 16
RULE = {
    "mode": "custom",
    "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n\n", "max_tokens": 200}},
}


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
async def services(upstream: FakeOpenAI, tmp_path: Path) -> AsyncIterator[Services]:
    os.environ.pop("KAWA_DATABASE_URL", None)
    models = {
        "providers": {
            "openai": {"base_url": upstream.base_url, "api_key": API_KEY, "embedding_models": ["small", "large"]}
        },
        "max_retries": 0,
        "embedded": {"chat": False},
    }
    settings = Settings(
        home=tmp_path,
        models=models,  # type: ignore[arg-type]
        knowledge=KnowledgeSettings(embedding_batch=BATCH),
    )  # type: ignore[call-arg]
    async with open_services(settings) as opened:
        yield opened


def embedding_calls(upstream: FakeOpenAI, model: str) -> list[list[str]]:
    return [r.body["input"] for r in upstream.requests if r.path.endswith("/embeddings") and r.body["model"] == model]


async def test_a_new_embedding_model_re_embeds_the_same_chunks_in_batches(
    services: Services, upstream: FakeOpenAI
) -> None:
    kb = services.knowledge
    dataset = await kb.create_dataset(
        name="manuals",
        indexing_technique="high_quality",
        embedding_model="small",
        embedding_model_provider="openai",
    )
    text = "\n\n".join(f"Pump model P{i} runs at {100 + i} litres per minute." for i in range(CHUNKS))
    document = await kb.add_document(
        dataset.id,
        name="pumps.txt",
        data=text.encode(),
        filename="pumps.txt",
        mime_type="text/plain",
        data_source_info={},
        process_rule=RULE,
    )
    await kb.jobs.wait_idle()
    first = embedding_calls(upstream, "small")
    assert [len(batch) for batch in first] == [16, 16, 16, 16, 6]
    before, _ = await kb.documents.segments(document.id, limit=100)

    await kb.update_dataset(dataset.id, {"embedding_model": "large", "embedding_model_provider": "openai"})
    await kb.reembedder.wait(dataset.id)

    again = embedding_calls(upstream, "large")
    assert [len(batch) for batch in again] == [16, 16, 16, 16, 6]
    assert sorted(t for batch in again for t in batch) == sorted(t for batch in first for t in batch)
    after, _ = await kb.documents.segments(document.id, limit=100)
    assert [(s.id, s.content) for s in after] == [(s.id, s.content) for s in before]  # the chunks are kept
    refreshed = await kb.documents.get(dataset.id, document.id)
    assert refreshed.indexing_status == "completed" and refreshed.completed_segments == CHUNKS
    hits = await kb.retrieve([dataset.id], "Pump model P42", RetrievalConfig(search_method="semantic_search"))
    assert hits and embedding_calls(upstream, "large")[-1] == ["Pump model P42"]  # queries use the new model


async def test_the_same_model_does_not_re_embed(services: Services, upstream: FakeOpenAI) -> None:
    kb = services.knowledge
    dataset = await kb.create_dataset(
        name="same", indexing_technique="high_quality", embedding_model="small", embedding_model_provider="openai"
    )
    await kb.update_dataset(dataset.id, {"description": "renamed", "embedding_model": "small"})
    await kb.reembedder.wait(dataset.id)
    assert embedding_calls(upstream, "small") == []


async def test_a_rate_limited_provider_is_waited_for_and_indexing_completes(
    services: Services, upstream: FakeOpenAI
) -> None:
    upstream.on_model("small", Scenario(status=429, fail_times=2, retry_after_s=0.3, error_code="rate_limit_exceeded"))
    kb = services.knowledge
    dataset = await kb.create_dataset(
        name="limited", indexing_technique="high_quality", embedding_model="small", embedding_model_provider="openai"
    )
    document = await kb.add_document(
        dataset.id,
        name="a.txt",
        data=b"first chunk\n\nsecond chunk",
        filename="a.txt",
        mime_type="text/plain",
        data_source_info={},
        process_rule=RULE,
    )
    started = time.monotonic()
    await kb.jobs.wait_idle()
    assert time.monotonic() - started >= 0.6  # two Retry-After pauses
    assert len(embedding_calls(upstream, "small")) == 3  # two refused, then the batch went through
    indexed = await kb.documents.get(dataset.id, document.id)
    assert indexed.indexing_status == "completed" and indexed.completed_segments == 2

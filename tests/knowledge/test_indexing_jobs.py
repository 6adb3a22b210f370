"""Background indexing: crash recovery, the Redis job queue shared by processes, and reranking with a model."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from support.databases import REDIS_URL, redis_available

from kawa.knowledge import RetrievalConfig
from kawa.knowledge.service import KnowledgeBase
from kawa.knowledge.settings import KnowledgeSettings
from kawa.services import open_services
from kawa.settings import Settings

TEXT = "Puffins return to Korrin Point every April.\n\nThe ferry leaves Dunmore twice a day."


def _settings(home: Path, **knowledge: object) -> Settings:
    os.environ.pop("KAWA_DATABASE_URL", None)
    return Settings(home=home, knowledge=KnowledgeSettings(**knowledge))  # type: ignore[call-arg, arg-type]


async def _add(kb: KnowledgeBase, dataset_id: str, name: str = "facts.txt") -> str:
    document = await kb.add_document(
        dataset_id, name=name, data=TEXT.encode(), filename=name, mime_type="text/plain", data_source_info={}
    )
    return document.id


async def _wait_status(kb: KnowledgeBase, dataset_id: str, document_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = (await kb.documents.get(dataset_id, document_id)).indexing_status
        if status in ("completed", "error") or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


async def test_a_document_left_half_indexed_is_indexed_at_the_next_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with open_services(settings) as services:
        kb = services.knowledge
        dataset = await kb.create_dataset(name="recover", indexing_technique="high_quality")
        await kb.jobs.close()  # no workers: the document stays queued, as if the process died
        document_id = await _add(kb, dataset.id)
        await kb.documents.update(document_id, indexing_status="indexing")
    async with open_services(settings, recover_runs=True) as services:
        assert await _wait_status(services.knowledge, dataset.id, document_id) == "completed"
        hits = await services.knowledge.retrieve([dataset.id], "When do puffins come back?")
        assert hits[0].content == "Puffins return to Korrin Point every April."


@pytest.mark.skipif(redis_available() is not None, reason=f"Redis not reachable: {redis_available()}")
async def test_with_redis_another_process_indexes_the_document(tmp_path: Path) -> None:
    settings = _settings(tmp_path, indexing_queue="redis").model_copy(update={"redis_url": REDIS_URL})
    async with open_services(settings, recover_runs=True) as server:  # the process with workers
        async with open_services(settings) as client:  # a process that only submits jobs
            assert client.knowledge.jobs.shared and not client.knowledge.jobs._tasks
            dataset = await client.knowledge.create_dataset(name="redis", indexing_technique="high_quality")
            document_id = await _add(client.knowledge, dataset.id)
        assert await _wait_status(server.knowledge, dataset.id, document_id) == "completed"


async def test_rerank_model_rescores_the_candidates(tmp_path: Path) -> None:
    async with open_services(_settings(tmp_path)) as services:
        kb = services.knowledge
        dataset = await kb.create_dataset(name="rerank", indexing_technique="high_quality")
        await _add(kb, dataset.id)
        await kb.jobs.wait_idle()
        plain = await kb.retrieve([dataset.id], "ferry timetable", RetrievalConfig(search_method="hybrid_search"))
        config = RetrievalConfig.model_validate(
            {
                "search_method": "hybrid_search",
                "reranking_enable": True,
                "reranking_mode": "reranking_model",
                "reranking_model": {
                    "reranking_provider_name": "embedded",
                    "reranking_model_name": "multilingual-e5-small+bm25",
                },
            }
        )
        reranked = await kb.retrieve([dataset.id], "ferry timetable", config)
        assert reranked[0].content == "The ferry leaves Dunmore twice a day."
        assert [h.position for h in reranked] == [1, 2]
        assert reranked[0].score != plain[0].score

"""Indexing over a real (private) Redis: workers outlive an idle queue and a Redis restart, and a server started
while Redis is down indexes once it is back; nothing stays `waiting`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.redis_server import REDIS_SERVER, PrivateRedis

from kawa.knowledge.indexing_queue import SOCKET_TIMEOUT_S
from kawa.knowledge.service import KnowledgeBase
from kawa.knowledge.settings import KnowledgeSettings
from kawa.services import open_services
from kawa.settings import Settings

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
TEXT = "Puffins return to Korrin Point every April.\n\nThe ferry leaves Dunmore twice a day."


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _settings(home: Path, redis_url: str) -> Settings:
    os.environ.pop("KAWA_DATABASE_URL", None)
    return Settings(  # type: ignore[call-arg]
        home=home, redis_url=redis_url, knowledge=KnowledgeSettings(indexing_queue="redis")
    )


async def _add(kb: KnowledgeBase, dataset_id: str) -> str:
    document = await kb.add_document(
        dataset_id,
        name="facts.txt",
        data=TEXT.encode(),
        filename="facts.txt",
        mime_type="text/plain",
        data_source_info={},
    )
    return document.id


async def _status_within(kb: KnowledgeBase, dataset_id: str, document_id: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        status = (await kb.documents.get(dataset_id, document_id)).indexing_status
        if status in ("completed", "error") or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


async def test_workers_outlive_an_idle_queue(tmp_path: Path, redis_server: PrivateRedis) -> None:
    async with open_services(_settings(tmp_path, redis_server.url), recover_runs=True) as services:
        kb = services.knowledge
        await asyncio.sleep(SOCKET_TIMEOUT_S + 2)  # an idle BLPOP longer than the socket timeout
        assert all(not task.done() for task in kb.jobs._tasks), "an indexing worker died on an idle queue"
        dataset = await kb.create_dataset(name="idle", indexing_technique="high_quality")
        document_id = await _add(kb, dataset.id)
        assert await _status_within(kb, dataset.id, document_id, 60) == "completed"
    # leaving open_services closed the workers without an error (the old shutdown failed here)


async def test_indexing_resumes_after_a_redis_restart(tmp_path: Path, redis_server: PrivateRedis) -> None:
    async with open_services(_settings(tmp_path, redis_server.url), recover_runs=True) as services:
        kb = services.knowledge
        dataset = await kb.create_dataset(name="restart", indexing_technique="high_quality")
        redis_server.stop()
        document_id = await _add(kb, dataset.id)  # accepted while Redis is away
        await asyncio.sleep(0.5)
        assert (await kb.documents.get(dataset.id, document_id)).indexing_status == "waiting"
        assert kb.jobs.queue.link is not None and not kb.jobs.queue.link.connected
        redis_server.start()
        assert await _status_within(kb, dataset.id, document_id, 60) == "completed"
        assert kb.jobs.queue.link.connected


async def test_a_server_started_while_redis_is_down_indexes_once_it_is_up(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)  # not running yet
    try:
        async with open_services(_settings(tmp_path, server.url), recover_runs=True) as services:
            kb = services.knowledge
            dataset = await kb.create_dataset(name="late", indexing_technique="high_quality")
            document_id = await _add(kb, dataset.id)
            server.start()
            assert await _status_within(kb, dataset.id, document_id, 60) == "completed"
    finally:
        server.stop()

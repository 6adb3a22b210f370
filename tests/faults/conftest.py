"""Fixtures of the fault suite: a fresh PostgreSQL database per scenario, a private Redis, the fake model upstream,
and `kawa serve` processes that are always stopped at the end (bounded: terminate, then kill)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAI
from invariants import RecordDatabase
from processes import UPSTREAM_KEY, Processes
from support.databases import fresh_postgres_database, postgres_available
from support.redis_server import PrivateRedis, private_redis

_POSTGRES_PROBLEM = postgres_available()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if _POSTGRES_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def record_db(postgres_url: str) -> Iterator[RecordDatabase]:
    db = RecordDatabase(postgres_url)
    yield db
    db.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private redis-server a scenario may kill and restart (never the shared one at 6379)."""
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture
def fake(upstream: FakeOpenAI) -> FakeOpenAI:
    upstream.reset()
    return upstream


@pytest.fixture
def processes() -> Iterator[Processes]:
    running = Processes()
    yield running
    running.stop_all()

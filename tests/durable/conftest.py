"""Fixtures of the durable-run tests: each test's database (a SQLite file, or a fresh PostgreSQL database) and a
kawa server on loopback serving the approval app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from durable_support import Served, import_approval
from support.clients import client_for, make_settings
from support.databases import fresh_postgres_database, postgres_available
from support.server import start_server

_POSTGRES_PROBLEM = postgres_available()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if _POSTGRES_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}"
        return
    if _POSTGRES_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    settings = make_settings(tmp_path / "home", database_url)
    app = import_approval(settings)
    server = start_server(settings)
    client = client_for(server, app.api_key)
    try:
        yield Served(server, app, client)
    finally:
        client.close()
        server.stop()

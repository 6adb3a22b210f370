"""Shared fixtures: every API test runs against a real server on loopback, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.databases import fresh_postgres_database, postgres_available
from support.server import RunningServer, start_server

from kawa.settings import Settings

_POSTGRES_PROBLEM = postgres_available()
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _POSTGRES_PROBLEM:
        return [
            f"!!! PostgreSQL is NOT reachable ({_POSTGRES_PROBLEM}): the PostgreSQL half of the suite is SKIPPED !!!"
        ]
    return ["PostgreSQL at 127.0.0.1:5432 reachable: the API suite runs on SQLite and on PostgreSQL"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _POSTGRES_PROBLEM:
        terminalreporter.write_sep("!", "PostgreSQL tests were SKIPPED: " + _POSTGRES_PROBLEM, red=True, bold=True)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'kawa.db'}"
        return
    if _POSTGRES_PROBLEM:
        print(f"\n!!! SKIPPING PostgreSQL tests: {_POSTGRES_PROBLEM}", file=sys.stderr)
        pytest.skip(f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("home"), database_url)


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[RunningServer]:
    running = start_server(settings)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def hello_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "workflow-hello.yml")


@pytest.fixture
def hello_client(server: RunningServer, hello_app: ImportedApp) -> Iterator[httpx.Client]:
    with client_for(server, hello_app.api_key) as client:
        yield client

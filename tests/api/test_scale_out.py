"""Scale-out: two servers on one database share work through Redis; a stop reaches the run's own server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.apps import import_app
from support.clients import client_for, make_settings
from support.databases import REDIS_URL, redis_available
from support.server import RunningServer, start_server
from test_workflow_stop import STOP_BUDGET_S, stop_and_measure

_REDIS_PROBLEM = redis_available()


@pytest.fixture(scope="module")
def two_servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    if _REDIS_PROBLEM:
        print(f"\n!!! SKIPPING Redis scale-out tests: {_REDIS_PROBLEM}", file=sys.stderr)
        pytest.skip(f"Redis not reachable: {_REDIS_PROBLEM}")
    home: Path = tmp_path_factory.mktemp("shared-home")
    servers = [start_server(make_settings(home, database_url, redis_url=REDIS_URL)) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def test_stop_sent_to_another_server_stops_the_run(two_servers: list[RunningServer]) -> None:
    first, second = two_servers
    app = import_app(first.settings, "workflow-slow.yml")
    with client_for(first, app.api_key) as a, client_for(second, app.api_key) as b:
        times = sorted(stop_and_measure(a, b) for _ in range(3))
    assert times[1] < STOP_BUDGET_S, f"cross-server stops took {[round(t * 1000, 1) for t in times]} ms"


def test_both_servers_serve_the_same_apps(two_servers: list[RunningServer]) -> None:
    first, second = two_servers
    app = import_app(first.settings, "workflow-hello.yml")
    with client_for(first, app.api_key) as a, client_for(second, app.api_key) as b:
        run_id = a.post("/workflows/run", json={"inputs": {"name": "Ada"}, "user": "u"}).json()["workflow_run_id"]
        assert b.get(f"/workflows/run/{run_id}").json()["status"] == "succeeded"
        assert b.get("/workflows/logs").json()["total"] == 1
    assert isinstance(httpx.get(second.base_url + "/healthz").json(), dict)

"""Scale-out: two servers on one database share work through Redis; a stop reaches the run's own server."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import client_for, make_settings
from support.apps import import_app
from support.databases import REDIS_URL, redis_available
from support.server import RunningServer, start_server
from support.sse import iter_events

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
        request = a.build_request("POST", "/workflows/run",
                                  json={"inputs": {"seconds": 30}, "user": "alice", "response_mode": "streaming"})
        response = a.send(request, stream=True)
        try:
            events = iter_events(response)
            for event in events:
                if event["event"] == "node_started" and event["data"]["node_type"] == "code":
                    break
            task_id, run_id = event["task_id"], event["workflow_run_id"]
            started = time.perf_counter()
            assert b.post(f"/workflows/tasks/{task_id}/stop", json={"user": "alice"}).json() == {"result": "success"}
            rest = list(events)
            elapsed = time.perf_counter() - started
        finally:
            response.close()
        assert rest[-1]["data"]["status"] == "stopped"
        assert elapsed < 0.1, f"cross-server stop took {elapsed * 1000:.1f} ms"
        assert b.get(f"/workflows/run/{run_id}").json()["status"] == "stopped"


def test_both_servers_serve_the_same_apps(two_servers: list[RunningServer]) -> None:
    first, second = two_servers
    app = import_app(first.settings, "workflow-hello.yml")
    with client_for(first, app.api_key) as a, client_for(second, app.api_key) as b:
        run_id = a.post("/workflows/run", json={"inputs": {"name": "Ada"}, "user": "u"}).json()["workflow_run_id"]
        assert b.get(f"/workflows/run/{run_id}").json()["status"] == "succeeded"
        assert b.get("/workflows/logs").json()["total"] == 1
    assert isinstance(httpx.get(second.base_url + "/healthz").json(), dict)

"""Paused runs outlive their process: real `kawa serve` processes, stopped and started, or two at once on
PostgreSQL + Redis, with the run resumed by whichever process gets the submission."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from durable_support import import_approval, reattach, start_paused_run
from faults.processes import KawaEnvironment, KawaProcess, Processes
from support.clients import make_settings
from support.redis_server import private_redis

ANSWER = {"inputs": {"comment": "Ship it", "priority": "low"}, "action": "approve", "user": "reviewer"}


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    try:
        yield started
    finally:
        started.stop_all()


def _client(process: KawaProcess, key: str) -> httpx.Client:
    return httpx.Client(base_url=process.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_a_paused_run_resumes_after_the_server_restarts(
    tmp_path: Path, database_url: str, processes: Processes
) -> None:
    environment = KawaEnvironment(home=tmp_path / "home", database_url=database_url)
    app = import_approval(make_settings(environment.home, database_url))
    first = processes.start(environment, "before")
    with _client(first, app.api_key) as client:
        paused = start_paused_run(client)
    run_id = paused.first("workflow_paused")["workflow_run_id"]
    token = paused.first("human_input_required")["data"]["form_token"]
    first.stop()
    assert first.wait_exit(30) is not None

    second = processes.start(environment, "after")
    with _client(second, app.api_key) as client:
        assert client.get(f"/workflows/run/{run_id}").json()["status"] == "paused"
        assert client.get(f"/form/human_input/{token}").status_code == 200
        assert client.post(f"/form/human_input/{token}", json=ANSWER).status_code == 200
        resumed = reattach(client, run_id, "reviewer", last_event_id=paused.ids[-1])
        assert resumed.names()[:2] == ["workflow_started", "human_input_form_filled"]
        assert resumed.names()[-1] == "workflow_finished"
        assert resumed.events[-1]["data"]["outputs"] == {"result": "Approve: Ship it (low)"}
        assert resumed.ids[0] == (paused.ids[-1] or 0) + 1
        assert client.get(f"/workflows/run/{run_id}").json()["status"] == "succeeded"


def test_a_run_paused_on_one_process_resumes_on_another_with_redis(
    tmp_path: Path, postgres_url: str, processes: Processes
) -> None:
    (tmp_path / "redis").mkdir()
    with private_redis(tmp_path / "redis") as redis:
        environment = KawaEnvironment(home=tmp_path / "home", database_url=postgres_url, redis_url=redis.url)
        app = import_approval(make_settings(environment.home, postgres_url))
        one, two = processes.start(environment, "one"), processes.start(environment, "two")
        with _client(one, app.api_key) as first, _client(two, app.api_key) as second:
            paused = start_paused_run(first)
            run_id = paused.first("workflow_paused")["workflow_run_id"]
            token = paused.first("human_input_required")["data"]["form_token"]
            assert second.post(f"/form/human_input/{token}", json=ANSWER).status_code == 200
            on_first = reattach(first, run_id, "reviewer", last_event_id=paused.ids[-1])
            on_second = reattach(second, run_id, "reviewer", last_event_id=paused.ids[-1])
            again = second.post(f"/form/human_input/{token}", json=ANSWER)
        assert again.status_code == 412
        assert on_first.events == on_second.events
        assert on_first.names()[-1] == "workflow_finished"
        assert on_first.events[-1]["data"]["outputs"] == {"result": "Approve: Ship it (low)"}

"""Stopping a chat message through another server (PostgreSQL + a private Redis): the message streamed by the first
server ends `stopped`, with the partial answer its client received, and the history read right after the stop answer
already says so. (The race of defect 9 is reproduced with a workflow run in test_cross_process_stop.py: a message
ends within milliseconds of its stop, too fast for a read to overtake it reliably.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import client_for, make_settings
from support.databases import fresh_postgres_database, postgres_available
from support.redis_server import REDIS_SERVER, PrivateRedis
from support.server import RunningServer, start_server
from support.sse import iter_events
from support.upstream import upstream_models

API_KEY = "sk-cross-process"
_POSTGRES_PROBLEM = postgres_available()
pytestmark = [
    pytest.mark.skipif(_POSTGRES_PROBLEM is not None, reason=f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def servers(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    home: Path = tmp_path_factory.mktemp("message-stop")
    models = upstream_models(upstream, timeout_s=5.0)
    redis = PrivateRedis(home)
    redis.start()
    with fresh_postgres_database() as database_url:
        running = [start_server(make_settings(home, database_url, redis_url=redis.url, models=models)) for _ in "ab"]
        try:
            yield running
        finally:
            for server in running:
                server.stop()
            redis.stop()


def test_a_message_stopped_through_another_server_is_stopped_when_the_stop_answers(
    servers: list[RunningServer], upstream: FakeOpenAI
) -> None:
    upstream.on_model("gpt-4o-mini", Scenario(text=" ".join(f"word{i}" for i in range(400)), chunk_delay_s=0.05))
    app = import_app(servers[0].settings, "chat-assistant.yml")
    with client_for(servers[0], app.api_key) as owner, client_for(servers[1], app.api_key) as other:
        body = {"query": "Long?", "inputs": {"unit": "celsius"}, "user": "alice", "response_mode": "streaming"}
        with owner.stream("POST", "/chat-messages", json=body) as response:
            events = iter_events(response)
            received = ""
            for event in events:
                if event["event"] == "message":
                    received += event["answer"]
                    if len(received) > 20:
                        break
            started = time.perf_counter()
            answer = other.post(f"/chat-messages/{event['task_id']}/stop", json={"user": "alice"})
            took = time.perf_counter() - started
            history = other.get("/messages", params={"conversation_id": event["conversation_id"], "user": "alice"})
            rest = list(events)
    assert answer.status_code == 200 and answer.json() == {"result": "success"}
    stored = history.json()["data"][-1]
    assert stored["status"] == "stopped", f"read right after the stop answer: {stored['status']}"
    received += "".join(e["answer"] for e in rest if e["event"] == "message")
    assert stored["answer"] == received and len(received) < 2000
    assert rest[-1]["event"] == "message_end"
    print(f"\ncross-process message stop answered after {took * 1000:.1f} ms")

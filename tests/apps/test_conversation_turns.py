"""Concurrent messages to one conversation are serialised, end to end: real servers, the fake model upstream on
loopback recording what history each turn sent, on one server and on two servers sharing PostgreSQL and Redis."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import client_for, make_settings
from support.databases import REDIS_URL, redis_available
from support.server import RunningServer, start_server
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"
ANSWER = Scenario(text="noted " * 8, chunk_delay_s=0.01)
CONCURRENT = 10
STAGGER_S = 0.03  # a turn takes ~0.1 s: arrivals fall in every phase of the turn before


def models_settings(upstream: FakeOpenAI) -> dict[str, object]:
    return upstream_models(upstream, timeout_s=5.0)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        fake.on_model("gpt-4o-mini", ANSWER)
        yield fake


def message(query: str, conversation_id: str = "", mode: str = "blocking") -> dict[str, object]:
    return {
        "query": query,
        "inputs": {"unit": "celsius"},
        "user": "alice",
        "auto_generate_name": False,
        "conversation_id": conversation_id,
        "response_mode": mode,
    }


def queries_seen(upstream: FakeOpenAI) -> list[list[str]]:
    """For each model call, in the order the upstream received them: the user turns it was sent."""
    calls = [r.body for r in upstream.requests if r.path.endswith("/chat/completions")]
    return [[m["content"] for m in body["messages"] if m["role"] == "user"] for body in calls]


def send_concurrently(clients: list[httpx.Client], conversation_id: str) -> list[httpx.Response]:
    """Send the turns from parallel threads, staggered so that some arrive while an earlier turn is handing over."""

    def send(i: int) -> httpx.Response:
        time.sleep(i * STAGGER_S)
        body = message(f"turn {i}", conversation_id, "streaming" if i % 2 else "blocking")
        return clients[i % len(clients)].post("/chat-messages", json=body)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(send, range(CONCURRENT)))


def assert_each_turn_saw_every_earlier_turn(upstream: FakeOpenAI) -> None:
    seen = queries_seen(upstream)
    assert len(seen) == CONCURRENT + 1
    assert seen[0] == ["opening"]
    for before, after in itertools.pairwise(seen):
        # Turn k was sent the k earlier turns, exactly those the previous call was sent plus its own query.
        assert after[:-1] == before, f"a turn missed or repeated history: {seen}"
    assert sorted(q[-1] for q in seen[1:]) == sorted(f"turn {i}" for i in range(CONCURRENT))


def test_concurrent_messages_to_one_conversation_run_one_after_another(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(
        make_settings(tmp_path_factory.mktemp("turns-home"), database_url, models=models_settings(upstream))
    )
    try:
        app = import_app(server.settings, "chat-assistant.yml")
        upstream.reset()
        upstream.on_model("gpt-4o-mini", ANSWER)
        with client_for(server, app.api_key) as client:
            opened = client.post("/chat-messages", json=message("opening"))
            assert opened.status_code == 200, opened.text
            conversation_id = opened.json()["conversation_id"]

            replies = send_concurrently([client], conversation_id)

            assert [r.status_code for r in replies] == [200] * CONCURRENT, [r.text for r in replies]
            history = client.get("/messages", params={"conversation_id": conversation_id, "user": "alice"}).json()
        assert len(history["data"]) == CONCURRENT + 1
        assert_each_turn_saw_every_earlier_turn(upstream)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def two_servers(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[RunningServer]]:
    if database_url.startswith("sqlite"):
        pytest.skip("several servers share PostgreSQL")
    if problem := redis_available():
        print(f"\n!!! SKIPPING Redis conversation-queue tests: {problem}", file=sys.stderr)
        pytest.skip(f"Redis not reachable: {problem}")
    home: Path = tmp_path_factory.mktemp("turns-shared-home")
    settings = [
        make_settings(home, database_url, redis_url=REDIS_URL, models=models_settings(upstream)) for _ in range(2)
    ]
    servers = [start_server(s) for s in settings]
    yield servers
    for server in servers:
        server.stop()


def test_concurrent_messages_over_two_servers_run_one_after_another(
    two_servers: list[RunningServer], upstream: FakeOpenAI
) -> None:
    first, second = two_servers
    app = import_app(first.settings, "chat-assistant.yml")
    upstream.reset()
    upstream.on_model("gpt-4o-mini", ANSWER)
    with client_for(first, app.api_key) as a, client_for(second, app.api_key) as b:
        opened = a.post("/chat-messages", json=message("opening"))
        assert opened.status_code == 200, opened.text

        replies = send_concurrently([a, b], opened.json()["conversation_id"])

        assert [r.status_code for r in replies] == [200] * CONCURRENT, [r.text for r in replies]
    assert_each_turn_saw_every_earlier_turn(upstream)

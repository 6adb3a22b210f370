"""`KAWA_MAX_ACTIVE_REQUESTS` is exact across processes: slots counted in the real Redis, taken atomically, freed
by their holder or, when it died, by their lease. End to end over two servers on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from redis.exceptions import RedisError
from support.apps import import_app
from support.clients import client_for, make_settings
from support.databases import REDIS_URL, redis_available
from support.server import RunningServer, start_server
from support.upstream import upstream_models

from kawa.apps.runners.active_requests import SharedActiveRequests
from kawa.apps.runners.supervisor import TaskSupervisor
from kawa.errors import TooManyRequests

_REDIS_PROBLEM = redis_available()
pytestmark = pytest.mark.skipif(bool(_REDIS_PROBLEM), reason=f"Redis not reachable: {_REDIS_PROBLEM}")
API_KEY = "sk-upstream-test-key"


async def test_concurrent_takes_from_two_processes_never_exceed_the_limit() -> None:
    first, second = SharedActiveRequests(REDIS_URL), SharedActiveRequests(REDIS_URL)
    await first.start()
    await second.start()
    app_id = str(uuid.uuid4())
    try:
        taken = await asyncio.gather(*((first if i % 2 else second).take(app_id, 2) for i in range(12)))
        assert sum(slot is not None for slot in taken) == 2

        held = next(slot for slot in taken if slot is not None)
        owner = first if held in first._held else second
        await owner.give_back(held)
        assert await second.take(app_id, 2) is not None  # the slot given back is free again
        assert await first.take(app_id, 2) is None
    finally:
        await first.close()
        await second.close()


async def test_slots_of_a_process_that_died_free_themselves_after_the_lease() -> None:
    app_id = str(uuid.uuid4())
    dead = SharedActiveRequests(REDIS_URL, lease_s=0.5)
    await dead.start()
    assert await dead.take(app_id, 2) is not None
    assert await dead.take(app_id, 2) is not None
    # Killed: no more renewals, nothing given back.
    assert dead._renewal is not None
    dead._renewal.cancel()
    dead._held.clear()
    await dead.close()

    alive = SharedActiveRequests(REDIS_URL, lease_s=0.5)
    await alive.start()
    try:
        assert await alive.take(app_id, 2) is None
        await asyncio.sleep(0.6)
        assert await alive.take(app_id, 2) is not None
    finally:
        await alive.close()


async def test_slots_of_a_live_process_outlast_the_lease() -> None:
    app_id = str(uuid.uuid4())
    holder, other = SharedActiveRequests(REDIS_URL, lease_s=0.3), SharedActiveRequests(REDIS_URL, lease_s=0.3)
    await holder.start()
    await other.start()
    try:
        assert await holder.take(app_id, 1) is not None
        await asyncio.sleep(1.0)  # three leases, renewed all along
        assert await other.take(app_id, 1) is None
    finally:
        await holder.close()
        await other.close()
    # Closing gave the slot back at once.
    again = SharedActiveRequests(REDIS_URL)
    await again.start()
    try:
        assert await again.take(app_id, 1) is not None
    finally:
        await again.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def two_limited_servers(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[RunningServer]]:
    if database_url.startswith("sqlite"):
        pytest.skip("several servers share PostgreSQL")
    models = upstream_models(upstream, timeout_s=5.0)
    home = tmp_path_factory.mktemp("limited-shared-home")
    servers = [
        start_server(make_settings(home, database_url, redis_url=REDIS_URL, max_active_requests=2, models=models))
        for _ in range(2)
    ]
    yield servers
    for server in servers:
        server.stop()


def six_at_once(clients: list[httpx.Client], path: str, body: dict[str, object]) -> Counter[int]:
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda i: clients[i % 2].post(path, json=body), range(6)))
    for reply in replies:
        if reply.status_code == 429:
            assert reply.json()["code"] == "too_many_requests"
    return Counter(r.status_code for r in replies)


def test_six_simultaneous_runs_over_two_servers_with_a_limit_of_two(two_limited_servers: list[RunningServer]) -> None:
    first, second = two_limited_servers
    app = import_app(first.settings, "workflow-slow.yml")
    with client_for(first, app.api_key) as a, client_for(second, app.api_key) as b:
        outcome = six_at_once([a, b], "/workflows/run", {"inputs": {"seconds": 1.5}, "user": "alice"})
        assert outcome == Counter({200: 2, 429: 4}), outcome
        # The slots came back with the runs' end, on both servers.
        assert b.post("/workflows/run", json={"inputs": {"seconds": 0}, "user": "alice"}).status_code == 200


def test_six_simultaneous_chat_messages_over_two_servers_with_a_limit_of_two(
    two_limited_servers: list[RunningServer], upstream: FakeOpenAI
) -> None:
    upstream.on_model("gpt-4o-mini", Scenario(text=" ".join(["slow"] * 40), chunk_delay_s=0.04))
    first, second = two_limited_servers
    app = import_app(first.settings, "chat-assistant.yml")
    body = {"query": "Hi", "inputs": {"unit": "celsius"}, "user": "alice", "auto_generate_name": False}
    with client_for(first, app.api_key) as a, client_for(second, app.api_key) as b:
        outcome = six_at_once([a, b], "/chat-messages", body)
    assert outcome == Counter({200: 2, 429: 4}), outcome


async def test_without_a_reachable_redis_the_limit_is_counted_per_process() -> None:
    limiter = SharedActiveRequests("redis://127.0.0.1:1/0")  # nothing listens there
    await limiter.start()
    try:
        with pytest.raises(RedisError):
            await limiter.take("app-1", 1)
    finally:
        await limiter.close()

    supervisor = TaskSupervisor(max_active_requests=1, redis_url="redis://127.0.0.1:1/0")
    with supervisor.admit("app-1") as slot:
        await supervisor.admit_globally(slot)  # Redis is down: admitted on the per-process count
        assert slot.shared_id is None
        with pytest.raises(TooManyRequests), supervisor.admit("app-1"):
            pass

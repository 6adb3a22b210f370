"""`/healthz` (liveness, names degraded parts) and `/readyz` (503 unless database, migrations, Redis and sandbox are
ready), on a real server; a server starts while Redis is down, says so, and becomes ready when Redis comes up."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support.clients import make_settings
from support.redis_server import REDIS_SERVER, PrivateRedis
from support.server import RunningServer, start_server

from kawa.store.migrate import head_revisions


def _until(check: Callable[[], bool], within: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        time.sleep(0.05)
    return time.monotonic() - started


def _ready(server: RunningServer) -> bool:
    return httpx.get(server.base_url + "/readyz").status_code == 200


def test_a_healthy_server_is_live_and_ready(server: RunningServer) -> None:
    _until(lambda: _ready(server), within=30)  # the sandbox's warm workers may still be starting
    live = httpx.get(server.base_url + "/healthz")
    ready = httpx.get(server.base_url + "/readyz")
    assert live.status_code == 200 and ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert body["database"]["state"] == "reachable" and body["database"]["latency_ms"] >= 0
    assert body["migrations"] == {
        "ok": True,
        "state": "current",
        "applied": sorted(head_revisions()),
        "expected": sorted(head_revisions()),
    }
    assert body["redis"] == {"ok": True, "state": "not_configured"}
    assert body["sandbox"]["ok"] and body["sandbox"]["pools"]["python3"]["slots"] >= 1
    assert live.json()["status"] == "ok" and live.json()["degraded"] == []


def test_pending_migrations_make_the_server_not_ready(tmp_path: Path) -> None:
    running = start_server(make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}"))
    try:
        with sqlite3.connect(tmp_path / "kawa.db") as db:  # as if an older kawa had migrated this database
            db.execute("UPDATE alembic_version SET version_num = '0001'")
        ready = httpx.get(running.base_url + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["migrations"]
        assert ready.json()["migrations"]["state"] == "pending"
        assert httpx.get(running.base_url + "/healthz").json()["degraded"] == ["migrations"]
    finally:
        running.stop()


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_a_server_starts_without_redis_and_becomes_ready_when_it_returns(tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path)  # configured, but not running
    started = time.monotonic()
    running = start_server(make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}", redis_url=redis.url))
    try:
        assert time.monotonic() - started < 20, "the server waited too long for Redis"
        live = httpx.get(running.base_url + "/healthz")
        assert live.status_code == 200
        assert live.json()["status"] == "degraded" and live.json()["degraded"] == ["redis"]
        assert live.json()["redis"]["state"] == "unreachable"
        assert redis.url.split("//")[1] not in live.text, "the health body names the Redis host"
        ready = httpx.get(running.base_url + "/readyz")
        assert ready.status_code == 503 and ready.json()["failing"] == ["redis"]

        redis.start()
        took = _until(lambda: _ready(running), within=10)
        body = httpx.get(running.base_url + "/readyz").json()
        assert body["redis"]["links"]["stop"]["connected"] and body["redis"]["links"]["indexing"]["connected"]
        print(f"\nready {took * 1000:.0f} ms after Redis came up")

        redis.stop()
        _until(lambda: not _ready(running), within=10)
        assert httpx.get(running.base_url + "/healthz").json()["degraded"] == ["redis"]
        redis.start()
        _until(lambda: _ready(running), within=10)
    finally:
        running.stop()
        redis.stop()

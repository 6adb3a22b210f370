"""PostgreSQL may go away: behind a TCP proxy that the test cuts and restores, a server answers 503 in Dify's shape
(no SQL, hosts or ports) during the outage and serves again by itself afterwards; pool limits hold under load
(requests beyond the pool wait, then 503 — never 500) and N processes never hold more than N × (size + overflow)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.databases import POSTGRES_ADMIN_URL, fresh_postgres_database, postgres_available
from support.server import RunningServer, start_server
from support.tcp_proxy import TcpProxy

from kawa.store.settings import DatabaseSettings

_POSTGRES_PROBLEM = postgres_available()
pytestmark = pytest.mark.skipif(_POSTGRES_PROBLEM is not None, reason=f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}")
LEAKS = ("SQL", "psycopg", "OperationalError", "5432", "127.0.0.1", "connection", "Traceback")


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    target = urlsplit(database_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as running:
        yield running


def _serve_through(proxy: TcpProxy, database_url: str, home: Path, **database: object) -> RunningServer:
    settings = make_settings(home, proxy.rewrite(database_url), database=DatabaseSettings(**database))  # type: ignore[arg-type]
    return start_server(settings)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "service_unavailable" and body["status"] == 503
    assert response.headers["x-request-id"] in body["message"]
    assert not [leak for leak in LEAKS if leak in response.text], response.text


def test_an_outage_answers_503_and_the_server_recovers_by_itself(
    proxy: TcpProxy, database_url: str, tmp_path: Path
) -> None:
    server = _serve_through(proxy, database_url, tmp_path, connect_timeout_s=2)
    try:
        app = import_app(server.settings, "workflow-hello.yml")
        with client_for(server, app.api_key) as client:
            assert client.get("/parameters").status_code == 200
            run = {"inputs": {"name": "Ada"}, "user": "u", "response_mode": "blocking"}
            assert client.post("/workflows/run", json=run).json()["data"]["status"] == "succeeded"

            proxy.cut()
            for _ in range(3):
                started = time.monotonic()
                _assert_unavailable(client.get("/parameters"))
                assert time.monotonic() - started < 3, "an unreachable database held the request too long"
            _assert_unavailable(client.post("/workflows/run", json=run))
            live, ready = httpx.get(server.base_url + "/healthz"), httpx.get(server.base_url + "/readyz")
            assert live.status_code == 200 and live.json()["degraded"] == ["database", "migrations"]
            assert ready.status_code == 503 and ready.json()["database"] == {"ok": False, "state": "unreachable"}

            proxy.restore()
            assert client.get("/parameters").status_code == 200, "the first request after the outage failed"
            assert client.post("/workflows/run", json=run).json()["data"]["status"] == "succeeded"
            assert httpx.get(server.base_url + "/readyz").status_code == 200
    finally:
        server.stop()


def test_a_silent_partition_answers_503_within_the_pool_timeout(
    proxy: TcpProxy, database_url: str, tmp_path: Path
) -> None:
    server = _serve_through(proxy, database_url, tmp_path, pool_size=1, max_overflow=0, pool_timeout_s=1)
    try:
        app = import_app(server.settings, "workflow-hello.yml")
        with client_for(server, app.api_key) as client:
            assert client.get("/parameters").status_code == 200
            proxy.cut(silent=True)  # bytes stop; the one pooled connection hangs in its query
            with ThreadPoolExecutor(4) as pool:
                hung = pool.submit(client.get, "/parameters")
                time.sleep(0.3)
                waiting = [pool.submit(client.get, "/parameters") for _ in range(3)]
                for future in waiting:
                    _assert_unavailable(future.result(timeout=10))
                proxy.restore()
                assert hung.result(timeout=30).status_code == 200
            assert client.get("/parameters").status_code == 200
    finally:
        server.stop()


def _connections_to(database: str) -> int:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
        return int(row[0]) if row else 0


def test_processes_never_hold_more_than_their_pools(proxy: TcpProxy, database_url: str, tmp_path: Path) -> None:
    processes, pool = 2, DatabaseSettings(pool_size=2, max_overflow=1, pool_timeout_s=0.5)
    servers = [_serve_through(proxy, database_url, tmp_path / f"p{i}", **pool.model_dump()) for i in range(processes)]
    database = urlsplit(database_url).path.lstrip("/")
    try:
        apps: list[ImportedApp] = [import_app(servers[0].settings, "workflow-hello.yml")]
        proxy.latency_s = 0.15  # every query takes ≥ 0.3 s: 40 concurrent requests outrun 3 connections
        peak = 0
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _connections_to(database))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        clients = [client_for(server, apps[0].api_key) for server in servers]
        with ThreadPoolExecutor(40) as executor:
            futures = [executor.submit(clients[i % processes].get, "/parameters") for i in range(80)]
            statuses = Counter(f.result(timeout=60).status_code for f in futures)
        done.set()
        watcher.join()
        for client in clients:
            client.close()
        print(f"\n{processes} processes × pool {pool.max_connections}: peak {peak} connections, answers {statuses}")
        assert peak <= processes * pool.max_connections
        assert set(statuses) <= {200, 503} and statuses[503] > 0 and statuses[200] > 0
        proxy.latency_s = 0
        with clients[0].__class__(base_url=servers[0].api_url, headers=clients[0].headers) as client:
            assert client.get("/parameters").status_code == 200
    finally:
        for server in servers:
            server.stop()

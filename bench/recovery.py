"""Recovery figures: Redis and PostgreSQL coming and going, and stop across processes, on real servers.

- Redis restart: from the moment a private redis-server accepts again until `/readyz` of a server says ready
  (its stop channel and indexing queue reconnected).
- Cross-process stop: two servers on PostgreSQL + Redis; a run on the first is stopped through the second; how long
  the stop answer takes, and whether run detail read right after it says `stopped`.
- PostgreSQL outage behind a TCP proxy: how long a request takes to answer 503 while the link is cut, and how long
  after restoring it the first request answers 200.

    .venv/bin/python bench/recovery.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.apps import import_app  # noqa: E402
from support.clients import client_for, make_settings  # noqa: E402
from support.databases import fresh_postgres_database  # noqa: E402
from support.redis_server import PrivateRedis  # noqa: E402
from support.server import RunningServer, start_server  # noqa: E402
from support.sse import iter_events  # noqa: E402
from support.tcp_proxy import TcpProxy  # noqa: E402


def _wait(check: Callable[[], bool], within: float = 30) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > within:
            raise TimeoutError("not within the bound")
        time.sleep(0.005)
    return time.perf_counter() - started


def _ready(server: RunningServer) -> bool:
    return httpx.get(server.base_url + "/readyz").status_code == 200


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered) * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"


def redis_restart(home: Path, rounds: int) -> None:
    redis = PrivateRedis(home)
    redis.start()
    server = start_server(make_settings(home, f"sqlite+aiosqlite:///{home / 'kawa.db'}", redis_url=redis.url))
    try:
        _wait(lambda: _ready(server))
        times = []
        for _ in range(rounds):
            redis.stop()
            _wait(lambda: not _ready(server))
            redis.start()
            times.append(_wait(lambda: _ready(server)))
        print(f"Redis restart → server ready again: {_ms(times)}")
    finally:
        server.stop()
        redis.stop()


def cross_process_stop(home: Path, database_url: str, rounds: int) -> None:
    redis = PrivateRedis(home)
    redis.start()
    servers = [start_server(make_settings(home, database_url, redis_url=redis.url)) for _ in range(2)]
    try:
        for server in servers:
            _wait(lambda server=server: _ready(server))  # type: ignore[misc]
        app = import_app(servers[0].settings, "workflow-slow.yml")
        answers, stopped = [], 0
        with client_for(servers[0], app.api_key) as owner, client_for(servers[1], app.api_key) as other:
            for _ in range(rounds):
                body = {"inputs": {"seconds": 30}, "user": "u", "response_mode": "streaming"}
                with owner.stream("POST", "/workflows/run", json=body) as response:
                    events = iter_events(response)
                    started = next(
                        e for e in events if e["event"] == "node_started" and e["data"]["node_type"] == "code"
                    )
                    time.sleep(0.05)
                    t0 = time.perf_counter()
                    other.post(f"/workflows/tasks/{started['task_id']}/stop", json={"user": "u"})
                    answers.append(time.perf_counter() - t0)
                    detail = other.get(f"/workflows/run/{started['workflow_run_id']}").json()
                    stopped += detail["status"] == "stopped"
                    list(events)
        print(f"cross-process stop answer: {_ms(answers)}; run detail right after says stopped: {stopped}/{rounds}")
    finally:
        for server in servers:
            server.stop()
        redis.stop()


def database_outage(home: Path, database_url: str, rounds: int) -> None:
    target = urlsplit(database_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        server = start_server(make_settings(home, proxy.rewrite(database_url)))
        try:
            app = import_app(server.settings, "workflow-hello.yml")
            outage, recovery, failed_after = [], [], 0
            with client_for(server, app.api_key) as client:
                for _ in range(rounds):
                    proxy.cut()
                    t0 = time.perf_counter()
                    assert client.get("/parameters").status_code == 503
                    outage.append(time.perf_counter() - t0)
                    proxy.restore()
                    t0 = time.perf_counter()
                    first = client.get("/parameters").status_code
                    failed_after += first != 200
                    recovery.append(time.perf_counter() - t0)
            print(f"PostgreSQL cut → 503 answer: {_ms(outage)}")
            print(f"PostgreSQL restored → first request: {_ms(recovery)}; not 200: {failed_after}/{rounds}")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for part in ("redis", "stop", "db"):
            (home / part).mkdir()
        redis_restart(home / "redis", rounds)
        with fresh_postgres_database() as url:
            cross_process_stop(home / "stop", url, rounds)
        with fresh_postgres_database() as url:
            database_outage(home / "db", url, rounds)


if __name__ == "__main__":
    main()

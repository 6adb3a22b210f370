"""Stop across real `kawa serve` processes (PostgreSQL + a private Redis): the stop answer comes after the run has
ended in the process that runs it (run detail read at once says `stopped`), and stop keeps working after Redis
restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support.databases import fresh_postgres_database, postgres_available
from support.redis_server import REDIS_SERVER, PrivateRedis
from support.server import free_port
from support.sse import iter_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"
KAWA = [sys.executable, "-m", "kawa.cli"]
_POSTGRES_PROBLEM = postgres_available()
pytestmark = [
    pytest.mark.skipif(_POSTGRES_PROBLEM is not None, reason=f"PostgreSQL not reachable: {_POSTGRES_PROBLEM}"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]


@dataclass
class Deployment:
    redis: PrivateRedis
    api_key: str
    urls: list[str]

    def client(self, index: int) -> httpx.Client:
        return httpx.Client(
            base_url=self.urls[index] + "/v1", headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30
        )


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen([*KAWA, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 45
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("two-processes")
    redis = PrivateRedis(home)
    redis.start()
    processes: list[subprocess.Popen[bytes]] = []
    with fresh_postgres_database() as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
        env.update(KAWA_HOME=str(home), KAWA_DATABASE_URL=database_url, KAWA_REDIS_URL=redis.url)
        imported = subprocess.run(
            [*KAWA, "app", "import", str(FIXTURES / "workflow-slow.yml"), "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        try:
            ports = [free_port(), free_port()]
            processes = [_serve(env, port, home / f"serve-{port}.log") for port in ports]
            yield Deployment(redis, json.loads(imported.stdout)["api_key"], [f"http://127.0.0.1:{p}" for p in ports])
        finally:
            for proc in processes:
                proc.terminate()
            for proc in processes:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            redis.stop()


def _stop_from_the_other_process(deployment: Deployment) -> tuple[str, float]:
    """Start a 30 s run on process 0, stop it through process 1 and read its detail there at once."""
    with deployment.client(0) as owner, deployment.client(1) as other:
        body = {"inputs": {"seconds": 30}, "user": "alice", "response_mode": "streaming"}
        with owner.stream("POST", "/workflows/run", json=body) as response:
            events = iter_events(response)
            for event in events:
                if event["event"] == "node_started" and event["data"]["node_type"] == "code":
                    task_id, run_id = event["task_id"], event["workflow_run_id"]
                    break
            else:
                raise AssertionError("the code node never started")
            started = time.perf_counter()
            answer = other.post(f"/workflows/tasks/{task_id}/stop", json={"user": "alice"})
            took = time.perf_counter() - started
            status = other.get(f"/workflows/run/{run_id}").json()["status"]
            rest = list(events)
        assert answer.status_code == 200 and answer.json() == {"result": "success"}
        assert rest[-1]["event"] == "workflow_finished" and rest[-1]["data"]["status"] == "stopped"
        return status, took


def test_cross_process_stop_answers_after_the_run_has_ended(deployment: Deployment) -> None:
    results = [_stop_from_the_other_process(deployment) for _ in range(3)]
    assert [status for status, _ in results] == ["stopped"] * 3
    times = sorted(took for _, took in results)
    print(f"\ncross-process stop answered after {[round(t * 1000, 1) for t in times]} ms")
    assert times[1] < 0.5


def test_stop_of_a_finished_run_from_another_process_answers_at_once(deployment: Deployment) -> None:
    with deployment.client(0) as owner, deployment.client(1) as other:
        done = owner.post("/workflows/run", json={"inputs": {"seconds": 0}, "user": "alice"}).json()
        started = time.perf_counter()
        answer = other.post(f"/workflows/tasks/{done['task_id']}/stop", json={"user": "alice"})
        assert answer.json() == {"result": "success"}
        assert time.perf_counter() - started < 0.5


def test_cross_process_stop_works_again_after_redis_restarts(deployment: Deployment) -> None:
    deployment.redis.stop()
    deadline = time.monotonic() + 10
    while any(httpx.get(url + "/readyz").status_code == 200 for url in deployment.urls):
        assert time.monotonic() < deadline, "a process did not notice that Redis is gone"
        time.sleep(0.1)
    deployment.redis.start()
    deadline = time.monotonic() + 10
    while not all(httpx.get(url + "/readyz").status_code == 200 for url in deployment.urls):
        assert time.monotonic() < deadline, "a process did not reconnect to Redis"
        time.sleep(0.1)
    status, _ = _stop_from_the_other_process(deployment)
    assert status == "stopped"


def test_a_stop_that_cannot_reach_the_owner_says_so(deployment: Deployment) -> None:
    with deployment.client(0) as owner, deployment.client(1) as other:
        body = {"inputs": {"seconds": 2}, "user": "alice", "response_mode": "streaming"}
        with owner.stream("POST", "/workflows/run", json=body) as response:
            events = iter_events(response)
            task_id = next(e["task_id"] for e in events if e["event"] == "node_started")
            deployment.redis.stop()
            try:
                deadline = time.monotonic() + 10
                while httpx.get(deployment.urls[1] + "/readyz").status_code == 200:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                answer = other.post(f"/workflows/tasks/{task_id}/stop", json={"user": "alice"})
                assert answer.status_code == 503 and answer.json()["code"] == "service_unavailable"
                assert "127.0.0.1" not in answer.text and "redis" not in answer.text.lower()
                assert list(events)[-1]["data"]["status"] == "succeeded"  # the run went on: it was not stopped
            finally:
                deployment.redis.start()

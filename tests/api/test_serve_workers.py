"""`kawa serve --workers 2` on SQLite without Redis: one port, two worker processes, and what crosses them goes
through the parent's hub — a stop sent to the other worker ends the run within 100 ms, the concurrency limit is
counted across both, a killed worker is replaced and its run recorded failed, and SIGTERM drains every worker."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support.server import free_port
from support.sse import iter_events
from support.worker_pids import children, client_port, serving_pid

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"
KAWA = [sys.executable, "-m", "kawa.cli"]
STOP_BUDGET_S = 0.1


@dataclass
class Workers:
    proc: subprocess.Popen[bytes]
    port: int
    api_key: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        """A client with a connection of its own (the parent hands each new connection to the next worker)."""
        return httpx.Client(base_url=self.url + "/v1", headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30)

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def pid_of(self, response: httpx.Response) -> int:
        pid = serving_pid(self.workers(), self.port, client_port(response))
        assert pid is not None, "no worker holds the connection"
        return pid


def start_workers(home: Path, *, count: int = 2, extra: dict[str, str] | None = None) -> Workers:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(home), KAWA_LOG_LEVEL="warning", **(extra or {}))
    imported = subprocess.run(
        [*KAWA, "app", "import", str(FIXTURES / "workflow-slow.yml"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    port, log = free_port(), home / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*KAWA, "serve", "--port", str(port), "--workers", str(count)], env=env, stdout=out, stderr=out
        )
    deployment = Workers(proc, port, json.loads(imported.stdout)["api_key"], log)
    try:
        _until_every_worker_serves(deployment, count)
    except BaseException:
        stop_server(deployment)
        raise
    return deployment


def _until_every_worker_serves(deployment: Workers, count: int) -> None:
    deadline = time.monotonic() + 150  # a bound, not a speed test: the machine is shared
    seen: set[int] = set()
    while len(seen) < count:
        assert deployment.proc.poll() is None, deployment.log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"workers serving: {seen}\n{deployment.log.read_text()[-3000:]}"
        try:
            with deployment.client() as client:
                response = client.get("/parameters")
                if response.status_code == 200:
                    seen.add(deployment.pid_of(response))
        except httpx.TransportError:
            time.sleep(0.1)


def stop_server(deployment: Workers) -> None:
    if deployment.proc.poll() is None:
        deployment.proc.terminate()
        try:
            deployment.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            deployment.proc.kill()
            deployment.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    deployment = start_workers(tmp_path_factory.mktemp("workers"), extra={"KAWA_MAX_ACTIVE_REQUESTS": "2"})
    yield deployment
    stop_server(deployment)


def _stream(client: httpx.Client, seconds: float, user: str = "alice") -> tuple[httpx.Response, Iterator[dict]]:
    body = {"inputs": {"seconds": seconds}, "user": user, "response_mode": "streaming"}
    response = client.send(client.build_request("POST", "/workflows/run", json=body), stream=True)
    assert response.status_code == 200, response.read()
    return response, iter_events(response)


def _until_code_runs(events: Iterator[dict]) -> tuple[str, str]:
    for event in events:
        if event["event"] == "node_started" and event["data"]["node_type"] == "code":
            return event["task_id"], event["workflow_run_id"]
    raise AssertionError("the code node never started")


def _client_on_another_worker(deployment: Workers, stack: ExitStack, other_than: int) -> tuple[httpx.Client, int]:
    """A client whose connection a worker other than `other_than` serves (new connections until one does)."""
    return _client_where(deployment, stack, lambda pid: pid != other_than)


def _client_where(deployment: Workers, stack: ExitStack, wanted: Callable[[int], bool]) -> tuple[httpx.Client, int]:
    for _ in range(20):
        client = stack.enter_context(deployment.client())
        pid = deployment.pid_of(client.get("/parameters"))
        if wanted(pid):
            return client, pid
    raise AssertionError("no new connection went to the worker wanted")


def _round_trip(client: httpx.Client) -> float:
    started = time.perf_counter()
    client.get("/parameters")
    return time.perf_counter() - started


@dataclass
class StopTiming:
    took: float  # from sending the stop to the end of the run's stream
    round_trip: float  # a plain request on the stopper's connection


def _stop_and_time(deployment: Workers, *, same_worker: bool) -> StopTiming:
    """Start a 30 s run on one worker and stop it through a connection that the other worker (or the same one)
    serves; check it ended `stopped` and is recorded so."""
    with ExitStack() as stack:
        owner = stack.enter_context(deployment.client())
        response, events = _stream(owner, 30)
        stack.callback(response.close)
        task_id, run_id = _until_code_runs(events)
        owner_pid = deployment.pid_of(response)
        stopper, _stopper_pid = _client_where(deployment, stack, lambda pid: (pid == owner_pid) == same_worker)
        round_trip = statistics.median(_round_trip(stopper) for _ in range(3))
        started = time.perf_counter()
        answer = stopper.post(f"/workflows/tasks/{task_id}/stop", json={"user": "alice"})
        rest = list(events)
        took = time.perf_counter() - started
        assert answer.status_code == 200 and answer.json() == {"result": "success"}
        assert rest[-1]["event"] == "workflow_finished" and rest[-1]["data"]["status"] == "stopped"
        assert stopper.get(f"/workflows/run/{run_id}").json()["status"] == "stopped"
    return StopTiming(took, round_trip)


def test_a_stop_sent_to_the_other_worker_ends_the_stream_within_100_ms(deployment: Workers) -> None:
    """Within 100 ms on a machine that stops a run of its own worker within 100 ms. The way through the parent's
    hub wakes two more processes (the parent, then the owner), which on a loaded machine costs what a few plain
    round trips do (the measured slack: three of them, at least 30 ms); when the machine is so loaded that even a
    stop on the same worker takes longer than 100 ms, that time is the budget. Samples interleave, so both kinds
    see the same load."""
    across, local = [], []
    for _ in range(5):
        across.append(_stop_and_time(deployment, same_worker=False))
        local.append(_stop_and_time(deployment, same_worker=True))
    took = statistics.median(t.took for t in across)
    local_took = statistics.median(t.took for t in local)
    slack = max(3 * statistics.median(t.round_trip for t in across), 0.03)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(
        f"\nstop, stream end after: other worker {sorted(round(t.took * 1000, 1) for t in across)} ms, same worker "
        f"{sorted(round(t.took * 1000, 1) for t in local)} ms; slack {slack * 1000:.1f} ms; load {load}"
    )
    assert took < max(STOP_BUDGET_S, local_took) + slack


def test_the_concurrency_limit_counts_the_runs_of_both_workers(deployment: Workers) -> None:
    with ExitStack() as stack:
        first = stack.enter_context(deployment.client())
        response, events = _stream(first, 30)
        stack.callback(response.close)
        first_task, _ = _until_code_runs(events)
        second, _ = _client_on_another_worker(deployment, stack, deployment.pid_of(response))
        response2, events2 = _stream(second, 30)
        stack.callback(response2.close)
        second_task, _ = _until_code_runs(events2)
        # each worker runs one: a per-process count (limit 2) would admit a third on either
        for client in (first, second):
            refused = client.post("/workflows/run", json={"inputs": {"seconds": 0}, "user": "bob"})
            assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
        for client, task_id in ((second, first_task), (first, second_task)):
            assert client.post(f"/workflows/tasks/{task_id}/stop", json={"user": "alice"}).status_code == 200
        list(events)
        list(events2)
    deadline = time.monotonic() + 2
    with deployment.client() as client:
        while (
            done := client.post("/workflows/run", json={"inputs": {"seconds": 0}, "user": "bob"})
        ).status_code == 429:
            assert time.monotonic() < deadline, "the slots did not come back"
            time.sleep(0.02)
        assert done.json()["data"]["status"] == "succeeded"


def test_a_killed_worker_is_replaced_and_its_run_recorded_failed(deployment: Workers) -> None:
    before = deployment.workers()
    with deployment.client() as owner:
        response, events = _stream(owner, 30)
        try:
            _, run_id = _until_code_runs(events)
            victim = deployment.pid_of(response)
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):
                list(events)
        finally:
            response.close()
    deadline = time.monotonic() + 30
    while len(after := deployment.workers()) < 2 or victim in after:
        assert time.monotonic() < deadline, f"the worker was not replaced: {before} -> {after}"
        time.sleep(0.1)
    _until_every_worker_serves(deployment, 2)
    with deployment.client() as client:
        run = client.get(f"/workflows/run/{run_id}").json()
        assert run["status"] == "failed" and run["error"], run
        done = client.post("/workflows/run", json={"inputs": {"seconds": 0}, "user": "bob"}).json()
        assert done["data"]["status"] == "succeeded"


def test_sigterm_lets_the_runs_of_every_worker_finish(tmp_path: Path) -> None:
    deployment = start_workers(tmp_path)
    try:
        with ExitStack() as stack:
            first = stack.enter_context(deployment.client())
            response, events = _stream(first, 1.5)
            stack.callback(response.close)
            _until_code_runs(events)
            second, _ = _client_on_another_worker(deployment, stack, deployment.pid_of(response))
            response2, events2 = _stream(second, 1.5)
            stack.callback(response2.close)
            _until_code_runs(events2)
            deployment.proc.send_signal(signal.SIGTERM)
            for rest in (list(events), list(events2)):
                assert rest[-1]["event"] == "workflow_finished" and rest[-1]["data"]["status"] == "succeeded"
        assert deployment.proc.wait(timeout=30) == 0
        assert deployment.workers() == []
    finally:
        stop_server(deployment)

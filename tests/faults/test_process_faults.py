"""Processes that die, are told to stop, or lose Redis while streams are open: kill -9 of one of two `kawa serve`
processes (PostgreSQL + Redis) with 20 open streams, SIGTERM of a process mid-run, and a restart of the (private)
Redis under load, after which cross-process stop must still work."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
from fakes.openai_server import FakeOpenAI, Scenario
from invariants import RecordDatabase, check_invariants
from processes import KawaEnvironment, KawaProcess, Processes
from support.redis_server import PrivateRedis
from traffic import Traffic

MODEL = "gpt-4o-mini"
LONG_ANSWER = Scenario(text=" ".join(f"word{i}" for i in range(120)), chunk_delay_s=0.25)
"""About 30 s of streaming: every stream is still open when the fault hits."""
REDIS_DOWN_S = 3.0
REDIS_RECONNECT_S = 3.0
"""Time a process may take to reconnect to a Redis that came back (reconnecting with backoff)."""
STOP_BOUND_S = 5.0
SHORT_ANSWER = Scenario(text=" ".join(f"word{i}" for i in range(16)), chunk_delay_s=0.25)
SHUTDOWN_GRACE_S = 5.0
SHUTDOWN_BOUND_S = SHUTDOWN_GRACE_S + 10
"""Longest a SIGTERMed process may take to exit (its grace time plus the time to end streams and record runs)."""


def _open_streams(traffic: Traffic, server: KawaProcess, keys: dict[str, str], per_app: int) -> None:
    for app, key in keys.items():
        for n in range(per_app):
            traffic.chat(server.api_url, key, f"{app}/{n}", read_timeout=60)
    traffic.wait_acknowledged(timeout=30)
    time.sleep(1.0)  # mid-answer: every stream has sent text


def test_kill_9_of_a_process_with_20_open_streams(
    fake: FakeOpenAI,
    postgres_url: str,
    record_db: RecordDatabase,
    own_redis: PrivateRedis,
    processes: Processes,
    tmp_path: Path,
) -> None:
    fake.on_model(MODEL, LONG_ANSWER)
    environment = KawaEnvironment(
        home=tmp_path / "home", database_url=postgres_url, redis_url=own_redis.url, upstream_url=fake.base_url
    )
    keys = environment.import_apps("chatflow", "chat")
    victim, survivor = processes.start_many(environment, "victim", "survivor")
    traffic = Traffic()
    _open_streams(traffic, victim, keys, per_app=10)

    victim.signal(signal.SIGKILL)
    fault_at = time.monotonic()
    fake.on_model(MODEL, Scenario())
    after = traffic.chat(survivor.api_url, keys["chat"], "chat/after-the-kill", streaming=False, read_timeout=30)
    traffic.join(timeout=15)

    report = check_invariants(
        "kill -9 of 1 of 2 processes, 20 open streams",
        db=record_db,
        fault_at=fault_at,
        outcomes=traffic.outcomes,
        live_api_url=survivor.api_url,
        own_urls=[victim.base_url, survivor.base_url],
    )
    report.expect(survivor.alive(), "the surviving process died")
    report.expect(after.status == 200, f"a new request to the surviving process got {after.kind()}")
    report.finish()


def test_sigterm_mid_run_lets_short_runs_finish_and_ends_the_rest_with_an_error_event(
    fake: FakeOpenAI, postgres_url: str, record_db: RecordDatabase, processes: Processes, tmp_path: Path
) -> None:
    # The first two requests get a short answer (done within the grace time), every later one a long answer.
    fake.on_model_in_turn(MODEL, [SHORT_ANSWER, SHORT_ANSWER, LONG_ANSWER])
    environment = KawaEnvironment(
        home=tmp_path / "home",
        database_url=postgres_url,
        upstream_url=fake.base_url,
        extra={"KAWA_SHUTDOWN_GRACE_S": str(SHUTDOWN_GRACE_S)},
    )
    keys = environment.import_apps("chatflow", "chat")
    server = processes.start(environment, "kawa")
    traffic = Traffic()
    short = [traffic.chat(server.api_url, keys[app], f"short/{app}", read_timeout=60) for app in keys]
    traffic.wait_acknowledged(timeout=30)
    _open_streams(traffic, server, keys, per_app=3)

    server.signal(signal.SIGTERM)
    fault_at = time.monotonic()
    time.sleep(0.5)
    try:
        late = httpx.post(
            f"{server.api_url}/chat-messages",
            json={"query": "too late", "inputs": {}, "user": "late", "response_mode": "blocking"},
            headers={"Authorization": f"Bearer {keys['chat']}"},
            timeout=10,
        )
        late_answer = f"HTTP {late.status_code}"
    except httpx.HTTPError as exc:
        late, late_answer = None, type(exc).__name__
    exit_code = server.wait_exit(SHUTDOWN_BOUND_S)
    traffic.join(timeout=5)

    # How the SIGTERMed process itself recorded the runs it cut short (before any other process touches them).
    cut_short = [o for o in traffic.outcomes if not any(o is s for s in short)]
    runs = record_db.statuses("workflow_runs", {i for o in cut_short for i in o.run_ids})
    messages = record_db.statuses("messages", {i for o in cut_short for i in o.message_ids})

    def reader() -> str:
        """A new process reads the records back only after the stuck check (it repairs records when it starts)."""
        return processes.start(environment, "reader").api_url

    report = check_invariants(
        f"SIGTERM mid-run ({len(traffic.outcomes)} open streams, {SHUTDOWN_GRACE_S:.0f} s grace)",
        db=record_db,
        fault_at=fault_at,
        outcomes=traffic.outcomes,
        live_api_url=reader,
        own_urls=[server.base_url],
        extra_texts=[("request after SIGTERM", late.text)] if late is not None else [],
    )
    for outcome in traffic.outcomes:
        expected = "message_end" if any(outcome is s for s in short) else "error"
        report.expect(outcome.last_event == expected, f"{outcome.label}: the stream ended with {outcome.last_event}")
    report.expect(
        all(status in ("failed", "stopped") and error for status, error in runs.values()),
        f"runs cut short by the shutdown were recorded {sorted({f'{s}: {e}' for s, e in runs.values()})}",
    )
    report.expect(
        all(status in ("error", "stopped") for status, _ in messages.values()),
        f"messages cut short by the shutdown were recorded {sorted({s for s, _ in messages.values()})}",
    )
    report.expect(late is None or late.status_code == 503, f"a request after SIGTERM was answered {late_answer}")
    report.expect(exit_code is not None, f"the process did not exit within {SHUTDOWN_BOUND_S:.0f} s of SIGTERM")
    unexplained = record_db.unexplained_ends()
    report.expect(not unexplained, f"records ended without a reason: {unexplained}")
    report.finish()


def test_redis_restart_mid_load_keeps_serving_and_stop_works_after(
    fake: FakeOpenAI,
    postgres_url: str,
    record_db: RecordDatabase,
    own_redis: PrivateRedis,
    processes: Processes,
    tmp_path: Path,
) -> None:
    fake.on_model(MODEL, Scenario(text=" ".join(f"word{i}" for i in range(24)), chunk_delay_s=0.25))
    environment = KawaEnvironment(
        home=tmp_path / "home", database_url=postgres_url, redis_url=own_redis.url, upstream_url=fake.base_url
    )
    keys = environment.import_apps("chatflow", "chat")
    first, second = processes.start_many(environment, "first", "second")
    traffic = Traffic()
    for server in (first, second):
        for app, key in keys.items():
            for n in range(3):
                traffic.chat(server.api_url, key, f"{app}/{server.port}/{n}", read_timeout=60)
    traffic.wait_acknowledged(timeout=30)

    own_redis.stop()
    time.sleep(REDIS_DOWN_S)
    own_redis.start()
    fault_at = time.monotonic()
    time.sleep(REDIS_RECONNECT_S)

    # After the restart: a stop sent to the other process still reaches a run and ends it.
    fake.on_model(MODEL, LONG_ANSWER)
    stopped = traffic.chat(first.api_url, keys["chat"], "chat/stopped-after-restart", read_timeout=60)
    assert stopped.acknowledged.wait(30), "the run to stop never started"
    task_id = next(iter(stopped.task_ids), "")
    stop_sent = time.monotonic()
    answer = httpx.post(
        f"{second.api_url}/chat-messages/{task_id}/stop",
        json={"user": stopped.user},
        headers={"Authorization": f"Bearer {keys['chat']}"},
        timeout=10,
    )
    stopped.done.wait(STOP_BOUND_S)
    stop_took = time.monotonic() - stop_sent
    traffic.join(timeout=30)

    report = check_invariants(
        "Redis restart mid-load (2 processes, 12 streams)",
        db=record_db,
        fault_at=fault_at,
        outcomes=traffic.outcomes,
        live_api_url=second.api_url,
        own_urls=[first.base_url, second.base_url],
        extra_texts=[("stop answer", answer.text)],
    )
    report.expect(answer.status_code == 200, f"stop after the restart answered {answer.status_code}")
    report.expect(
        stopped.done.is_set() and stop_took <= STOP_BOUND_S,
        f"a stop sent through the other process after the Redis restart did not end the stream "
        f"within {STOP_BOUND_S:.0f} s (it ended: {stopped.kind()}, after {stop_took:.1f} s)",
    )
    report.expect(first.alive() and second.alive(), "a process died when Redis restarted")
    report.finish()

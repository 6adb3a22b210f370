"""Leases, not hope: a running run or message whose owner is gone, or could not write how it ended, is marked
failed by a live process within 15 s — without a restart — and a live owner keeps its long runs.

Real databases of this module only (SQLite file, fresh PostgreSQL database), a real `kawa serve` process killed
with SIGKILL, and a real fault (a trigger that rejects a run's final write).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import client_for, make_settings
from support.databases import fresh_postgres_database, postgres_available
from support.server import RunningServer, free_port, start_server
from support.sse import iter_events

from kawa.store.database import Database, sync_url
from kawa.store.leases import MESSAGE_LEASE_LAPSED, RUN_LEASE_LAPSED, LeaseSettings, RecordLeases

KAWA = [sys.executable, "-m", "kawa.cli"]
REAP_DEADLINE_S = 15.0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def own_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('leases') / 'kawa.db'}"
        return
    if problem := postgres_available():
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def server(own_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A live kawa with the default lease settings: it is the one that must notice."""
    running = start_server(make_settings(tmp_path_factory.mktemp("home"), own_database_url))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def slow_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "workflow-slow.yml")


def wait_for_status(client: httpx.Client, run_id: str, wanted: str, deadline_s: float) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    while True:
        record: dict[str, Any] = client.get(f"/workflows/run/{run_id}").json()
        elapsed = time.monotonic() - started
        if record["status"] == wanted or elapsed > deadline_s:
            return record, elapsed
        time.sleep(0.2)


def serve_process(home: Path, database_url: str, **extra_env: str) -> tuple[subprocess.Popen[bytes], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(home), KAWA_DATABASE_URL=database_url, **extra_env)
    port = free_port()
    proc = subprocess.Popen(
        [*KAWA, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "kawa serve did not start"
        time.sleep(0.1)


def test_a_run_of_a_killed_process_is_failed_by_a_live_one_within_15_s(
    server: RunningServer, slow_app: ImportedApp, own_database_url: str, tmp_path: Path
) -> None:
    peer, port = serve_process(tmp_path / "peer-home", own_database_url)
    headers = {"Authorization": f"Bearer {slow_app.api_key}"}
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", headers=headers, timeout=30) as peer_client,
            peer_client.stream(
                "POST", "/workflows/run", json={"inputs": {"seconds": 120}, "user": "u", "response_mode": "streaming"}
            ) as response,
        ):
            run_id = next(e for e in iter_events(response) if e["event"] == "workflow_started")["workflow_run_id"]
            peer.send_signal(signal.SIGKILL)
    except httpx.HTTPError:
        pass
    peer.wait(timeout=10)

    with client_for(server, slow_app.api_key) as client:
        record, waited = wait_for_status(client, run_id, "failed", REAP_DEADLINE_S + 5)

    assert record["status"] == "failed", f"still {record['status']} {waited:.1f}s after the kill"
    assert waited <= REAP_DEADLINE_S
    assert record["error"] == RUN_LEASE_LAPSED
    assert record["finished_at"] is not None


def test_a_message_of_a_killed_process_is_marked_error_by_a_live_one_within_15_s(
    server: RunningServer, own_database_url: str, tmp_path: Path
) -> None:
    chat = import_app(server.settings, "chat-assistant.yml")
    body = {"query": "Weather?", "inputs": {"unit": "celsius"}, "user": "u", "auto_generate_name": False}
    with FakeOpenAI(api_key="sk-upstream") as upstream:
        upstream.on_model("gpt-4o-mini", Scenario(text=" ".join(f"w{i}" for i in range(200)), chunk_delay_s=0.2))
        peer, port = serve_process(
            tmp_path / "peer-home",
            own_database_url,
            KAWA_MODELS__PROVIDERS__OPENAI__BASE_URL=upstream.base_url,
            KAWA_MODELS__PROVIDERS__OPENAI__API_KEY="sk-upstream",
            KAWA_MODELS__EMBEDDED__CHAT="false",
        )
        headers = {"Authorization": f"Bearer {chat.api_key}"}
        try:
            with (
                httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", headers=headers, timeout=30) as peer_client,
                peer_client.stream("POST", "/chat-messages", json={**body, "response_mode": "streaming"}) as response,
            ):
                first = next(e for e in iter_events(response) if e["event"] == "message")
                peer.send_signal(signal.SIGKILL)
        except httpx.HTTPError:
            pass
        peer.wait(timeout=10)

    query = {"conversation_id": first["conversation_id"], "user": "u"}
    started = time.monotonic()
    with client_for(server, chat.api_key) as client:
        while True:
            message = client.get("/messages", params=query).json()["data"][-1]
            waited = time.monotonic() - started
            if message["status"] != "running" or waited > REAP_DEADLINE_S + 5:
                break
            time.sleep(0.2)

    assert message["id"] == first["message_id"]
    assert message["status"] == "error", f"still {message['status']} {waited:.1f}s after the kill"
    assert waited <= REAP_DEADLINE_S
    assert message["error"] == MESSAGE_LEASE_LAPSED


@pytest.fixture
def rejected_final_writes(own_database_url: str) -> Iterator[None]:
    """Every UPDATE that ends a run fails in the database — except the reaper's, which says why."""
    engine = sa.create_engine(sync_url(own_database_url))
    reason = RUN_LEASE_LAPSED.replace("'", "''")
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER reject_final BEFORE UPDATE ON workflow_runs "
                f"WHEN NEW.status <> 'running' AND (NEW.error IS NULL OR NEW.error <> '{reason}') "
                "BEGIN SELECT RAISE(ABORT, 'final write rejected'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION reject_final() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.status <> 'running' AND NEW.error IS DISTINCT FROM '{reason}' THEN "
                "RAISE EXCEPTION 'final write rejected'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER reject_final BEFORE UPDATE ON workflow_runs "
                "FOR EACH ROW EXECUTE FUNCTION reject_final()"
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER IF EXISTS reject_final")
            else:
                conn.exec_driver_sql("DROP TRIGGER IF EXISTS reject_final ON workflow_runs")
                conn.exec_driver_sql("DROP FUNCTION IF EXISTS reject_final()")
        engine.dispose()


def test_a_run_whose_final_write_failed_is_failed_by_the_reaper_while_its_process_lives(
    server: RunningServer, slow_app: ImportedApp, rejected_final_writes: None
) -> None:
    with client_for(server, slow_app.api_key) as client:
        answer = client.post("/workflows/run", json={"inputs": {"seconds": 0.1}, "user": "u"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["status"] == "failed"  # the client is told the truth at once
        run_id = answer.json()["workflow_run_id"]
        assert client.get(f"/workflows/run/{run_id}").json()["status"] == "running"  # the write was rejected

        record, waited = wait_for_status(client, run_id, "failed", REAP_DEADLINE_S + 5)

    assert record["status"] == "failed", f"still {record['status']} after {waited:.1f}s"
    assert waited <= REAP_DEADLINE_S
    assert record["error"] == RUN_LEASE_LAPSED


def test_a_live_owner_keeps_a_run_that_outlasts_its_lease(own_database_url: str, tmp_path: Path) -> None:
    short = {"duration_s": 1.0, "renew_interval_s": 0.25}
    running = start_server(make_settings(tmp_path / "home", own_database_url, leases=short))
    try:
        app = import_app(running.settings, "workflow-slow.yml")
        with client_for(running, app.api_key) as client:
            answer = client.post("/workflows/run", json={"inputs": {"seconds": 3}, "user": "u"})
    finally:
        running.stop()

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status"] == "succeeded", answer.json()


async def _count_renewal_statements(database_url: str, runs: int) -> tuple[int, int]:
    """(UPDATE statements one renewal issues, rows it touched) with `runs` running runs held by this process."""
    db = Database(database_url)
    leases = RecordLeases(db, LeaseSettings(), owner="renewal-test")
    try:
        async with db.write() as conn:
            app_id = await conn.scalar(sa.text("SELECT id FROM apps LIMIT 1"))
            for i in range(runs):
                run_id = f"renewal-{i:04d}"
                await conn.execute(
                    sa.text(
                        "INSERT INTO workflow_runs (id, app_id, workflow_id, task_id, sequence_number, version, "
                        "triggered_from, status, inputs, elapsed_time, total_tokens, total_steps, exceptions_count, "
                        "owner_pid, lease_expires_at, created_at) VALUES (:id, :app, 'w', 't', 0, '1', 'app-run', "
                        "'running', '{}', 0, 0, 0, 0, 'renewal-test', :lease, :now)"
                    ),
                    {"id": run_id, "app": app_id, "lease": time.time() + 5, "now": time.time()},
                )
                leases.runs.add(run_id)
        statements: list[str] = []
        sa.event.listen(
            db.engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: statements.append(statement),
        )
        await leases.renew()
        return sum(s.lstrip().upper().startswith("UPDATE") for s in statements), len(leases.runs)
    finally:
        await db.dispose()


def test_renewal_is_one_update_per_table_for_all_of_a_process_s_records(
    server: RunningServer, slow_app: ImportedApp, own_database_url: str
) -> None:
    updates, held = asyncio.run(_count_renewal_statements(own_database_url, 200))

    assert held == 200
    assert updates == 1  # the runs table (no messages held); batches of 500 ids


def test_leases_must_be_renewed_at_least_twice_per_lease() -> None:
    with pytest.raises(ValueError, match="renew_interval_s"):
        LeaseSettings(duration_s=4, renew_interval_s=3)

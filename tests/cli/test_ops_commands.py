"""Operator commands against a running server's database: `kawa runs` (recent runs), `kawa runs show` (a node
timeline), `kawa logs` (runs followed as they happen) and `kawa db backup` (SQLite's online backup while the server
writes; PostgreSQL is told to use pg_dump)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from support.apps import ImportedApp, import_app
from support.clients import make_settings
from support.server import RunningServer, start_server
from typer.testing import CliRunner

from kawa.cli import cli


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[RunningServer, ImportedApp, dict[str, str | None]]]:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}")
    app = import_app(settings, "workflow-hello.yml")
    server = start_server(settings)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(tmp_path), KAWA_DATABASE_URL=settings.resolved_database_url)
    try:
        yield server, app, env
    finally:
        server.stop()


def run_workflow(server: RunningServer, app: ImportedApp, name: str) -> str:
    response = httpx.post(
        server.api_url + "/workflows/run",
        headers={"Authorization": f"Bearer {app.api_key}"},
        json={"inputs": {"name": name}, "user": "ada"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["workflow_run_id"])


def kawa(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_runs_lists_the_newest_runs_and_show_draws_a_node_timeline(
    served: tuple[RunningServer, ImportedApp, dict[str, str | None]],
) -> None:
    server, app, env = served
    first, second = run_workflow(server, app, "Ada"), run_workflow(server, app, "Grace")
    listed = kawa(env, "runs")
    assert listed.exit_code == 0, listed.output
    rows = listed.output.splitlines()
    assert rows[0].split()[:3] == ["RUN", "APP", "STATUS"]
    assert rows[1].startswith(second[:8]) and rows[2].startswith(first[:8])  # newest first
    assert all("Hello kawa" in row and "succeeded" in row for row in rows[1:3])
    as_json = [json.loads(line) for line in kawa(env, "runs", "--json", "-n", "1").output.splitlines()]
    assert [(r["id"], r["status"], r["nodes_done"]) for r in as_json] == [(second, "succeeded", 3)]

    shown = kawa(env, "runs", "show", second[:8])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0].startswith(f"run {second} of Hello kawa ({app.app_id}): succeeded")
    steps = shown.output.splitlines()[1:]
    assert [line.split()[2] for line in steps] == ["Start", "Greet", "End"] or len(steps) == 3
    assert all("✓" in line and "█" in line for line in steps)
    assert [n["node_type"] for n in json.loads(kawa(env, "runs", "show", second, "--json").output)["nodes"]] == [
        "start",
        "template-transform",
        "end",
    ]
    missing = kawa(env, "runs", "show", "ffffffff")
    assert missing.exit_code == 1 and "no run" in missing.output


def test_logs_follows_runs_as_they_happen(served: tuple[RunningServer, ImportedApp, dict[str, str | None]]) -> None:
    server, app, env = served
    run_workflow(server, app, "before")  # ended before following began: not shown
    started: list[str] = []

    def later() -> None:
        time.sleep(1.0)
        started.append(run_workflow(server, app, "during"))

    worker = threading.Thread(target=later)
    worker.start()
    followed = kawa(env, "logs", "--for", "4", "--interval", "0.2")
    worker.join()
    assert followed.exit_code == 0, followed.output
    lines = followed.output.splitlines()
    run = started[0][:8]
    assert any(f"▶ {run} Hello kawa started" in line for line in lines), followed.output
    assert any(f"✓ {run} Hello kawa succeeded in" in line and "3 steps" in line for line in lines), followed.output
    assert sum(run in line for line in lines) == 5  # started, three nodes, ended: each once
    assert len({line for line in lines if "▶" in line}) == 1


def test_db_backup_copies_the_live_sqlite_database_and_checks_it(
    served: tuple[RunningServer, ImportedApp, dict[str, str | None]], tmp_path: Path
) -> None:
    server, app, env = served
    run_id = run_workflow(server, app, "Ada")
    target = tmp_path / "backups" / "kawa-backup.db"
    done = kawa(env, "db", "backup", str(target))
    assert done.exit_code == 0, done.output
    assert f"backed up to {target}" in done.output and "integrity ok" in done.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT status FROM workflow_runs WHERE id = ?", (run_id,)).fetchone() == ("succeeded",)
    again = kawa(env, "db", "backup", str(target))
    assert again.exit_code == 1 and "exists" in again.output
    assert kawa(env, "db", "backup", str(target), "--force").exit_code == 0
    assert run_workflow(server, app, "still serving")  # the server went on writing throughout


def test_db_backup_of_postgresql_explains_pg_dump(tmp_path: Path) -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(tmp_path), KAWA_DATABASE_URL="postgresql+psycopg://kawa:pw@db.internal:5432/kawa")
    told = kawa(env, "db", "backup", str(tmp_path / "x.dump"))
    assert told.exit_code == 2
    assert (
        f"pg_dump --format=custom --file={tmp_path / 'x.dump'} postgresql://kawa@db.internal:5432/kawa" in told.output
    )
    assert "pw" not in told.output.replace("PGPASSWORD", "")

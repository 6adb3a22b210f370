"""The `kawa` command on SQLite and PostgreSQL, run in-process as a user's shell would run it: arguments, and an
environment holding only the user's `KAWA_*` variables. One test starts the real `kawa serve` process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import traceback
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import Result
from support.server import free_port
from typer.testing import CliRunner

from kawa.cli import cli, main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dsl"
KAWA = [sys.executable, "-m", "kawa.cli"]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str | None]:
    """This test's `KAWA_*` environment; any other `KAWA_*` variable of the test process is unset while it runs."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(tmp_path / "home"), KAWA_DATABASE_URL=database_url)
    return env


def kawa(env: dict[str, str | None], *args: str, ok: bool = True) -> Result:
    """Run `kawa ARGS...` in this process; stdout and stderr are kept apart, as a terminal shows them."""
    result = CliRunner().invoke(cli, list(args), env=env)
    if ok:
        crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
        assert result.exit_code == 0, result.stderr + crash
    return result


def test_the_console_script_is_kawa_cli_main() -> None:
    (script,) = entry_points(group="console_scripts", name="kawa")
    assert script.load() is main


def test_import_prints_app_id_and_key_as_json(env: dict[str, str | None]) -> None:
    out = json.loads(kawa(env, "app", "import", str(FIXTURES / "chat-assistant.yml"), "--json").stdout)
    assert set(out) >= {"app_id", "api_key"}
    assert re.fullmatch(r"app-[A-Za-z0-9]{24}", out["api_key"])
    listed = json.loads(kawa(env, "app", "list", "--json").stdout)
    assert [a["id"] for a in listed if a["name"] == "Weather assistant"][-1] == out["app_id"]


def test_broken_file_changes_nothing(env: dict[str, str | None], tmp_path: Path) -> None:
    before = kawa(env, "app", "list", "--json").stdout
    broken = yaml.safe_load((FIXTURES / "workflow-files.yml").read_text())
    broken["workflow"]["graph"]["nodes"][1]["data"]["type"] = "foo"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    result = kawa(env, "app", "import", str(path), ok=False)
    assert result.exit_code == 1
    assert "workflow.graph.nodes[1].data.type: unknown node type 'foo'" in result.stderr
    assert kawa(env, "app", "list", "--json").stdout == before


def test_export_then_reimport_as_a_new_version(env: dict[str, str | None], tmp_path: Path) -> None:
    out = json.loads(kawa(env, "app", "import", str(FIXTURES / "workflow-files.yml"), "--json").stdout)
    exported = tmp_path / "exported.yml"
    kawa(env, "app", "export", out["app_id"], "-o", str(exported), "--include-secret")
    again = json.loads(kawa(env, "app", "import", str(exported), "--app", out["app_id"], "--json").stdout)
    assert again["version"] == 2 and again["app_id"] == out["app_id"]
    assert again["workflow_id"] != out["workflow_id"]
    first = yaml.safe_load((FIXTURES / "workflow-files.yml").read_text())
    second = yaml.safe_load(kawa(env, "app", "export", out["app_id"], "--include-secret").stdout)
    assert second["workflow"] == first["workflow"]
    old = yaml.safe_load(kawa(env, "app", "export", out["app_id"], "--version", out["workflow_id"]).stdout)
    assert old["app"] == first["app"]


def test_reimport_of_another_mode_is_refused(env: dict[str, str | None]) -> None:
    out = json.loads(kawa(env, "app", "import", str(FIXTURES / "workflow-files.yml"), "--json").stdout)
    result = kawa(env, "app", "import", str(FIXTURES / "chat-assistant.yml"), "--app", out["app_id"], ok=False)
    assert result.exit_code == 1 and "app.mode" in result.stderr


def test_keys_are_listed_by_hint_and_revocable(env: dict[str, str | None]) -> None:
    app_id = json.loads(kawa(env, "app", "import", str(FIXTURES / "chat-assistant.yml"), "--json").stdout)["app_id"]
    created = json.loads(kawa(env, "key", "create", app_id, "--json").stdout)
    keys = json.loads(kawa(env, "key", "list", app_id, "--json").stdout)
    assert len(keys) == 2
    assert all(created["api_key"] not in json.dumps(k) for k in keys)
    assert {k["hint"] for k in keys} >= {"…" + created["api_key"][-4:]}
    kawa(env, "key", "revoke", created["id"])
    revoked = {k["id"]: k["revoked"] for k in json.loads(kawa(env, "key", "list", app_id, "--json").stdout)}
    assert revoked[created["id"]] is True


def test_delete_removes_the_app(env: dict[str, str | None]) -> None:
    app_id = json.loads(kawa(env, "app", "import", str(FIXTURES / "chat-assistant.yml"), "--json").stdout)["app_id"]
    kawa(env, "app", "delete", app_id)
    assert app_id not in kawa(env, "app", "list").stdout
    assert kawa(env, "app", "delete", app_id, ok=False).exit_code == 1


def test_each_invocation_reads_the_environment_it_is_given(tmp_path: Path) -> None:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KAWA_")}
    first = {**unset, "KAWA_HOME": str(tmp_path / "first")}
    second = {**unset, "KAWA_HOME": str(tmp_path / "second")}
    app_id = json.loads(kawa(first, "app", "import", str(FIXTURES / "workflow-hello.yml"), "--json").stdout)["app_id"]
    assert json.loads(kawa(second, "app", "list", "--json").stdout) == []
    assert [a["id"] for a in json.loads(kawa(first, "app", "list", "--json").stdout)] == [app_id]
    assert (tmp_path / "first" / "kawa.db").is_file() and (tmp_path / "second" / "kawa.db").is_file()


def test_the_quick_schema_check_knows_the_heads_alembic_knows() -> None:
    # Commands skip Alembic when the database is at these revisions, so they must be exactly Alembic's heads.
    from alembic.script import ScriptDirectory

    from kawa.store.migrate import alembic_config, head_revisions

    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_db_upgrade_is_idempotent(env: dict[str, str | None]) -> None:
    kawa(env, "db", "upgrade")
    assert "newest schema" in kawa(env, "db", "upgrade").stdout


def test_serve_with_example_starts_quickly_and_answers(env: dict[str, str | None]) -> None:
    port = free_port()
    started = time.monotonic()
    process_env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    process_env.update({k: v for k, v in env.items() if v is not None})
    proc = subprocess.Popen(
        [*KAWA, "serve", "--port", str(port), "--example"],
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("API key:"):
                key = line.split()[-1]
            if line.startswith("base URL:"):
                break
        assert key is not None
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kawa serve did not come up"
            time.sleep(0.02)
        startup = time.monotonic() - started
        info = httpx.get(f"http://127.0.0.1:{port}/v1/info", headers={"Authorization": f"Bearer {key}"}).json()
        assert info["name"] == "Hello kawa"
        print(f"kawa serve start-up to healthy: {startup:.2f} s")
        assert startup < 10, startup
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_run_executes_a_workflow_without_a_server(env: dict[str, str | None]) -> None:
    out = kawa(env, "run", str(FIXTURES / "workflow-hello.yml"), "-i", "name=Ada", "--json").stdout
    assert json.loads(out)["outputs"] == {"greeting": "Hello, Ada! Your name has 3 letters."}
    live = kawa(env, "run", str(FIXTURES / "workflow-hello.yml"), "-i", "name=Bo")
    assert "▶ Greeting (template-transform)" in live.stderr and "succeeded" in live.stderr
    assert json.loads(live.stdout[live.stdout.index("{") :]) == {"greeting": "Hello, Bo! Your name has 2 letters."}


def test_run_uses_the_code_sandbox(env: dict[str, str | None]) -> None:
    out = kawa(env, "run", str(FIXTURES / "workflow-slow.yml"), "-i", "seconds=0.1", "--json").stdout
    assert json.loads(out)["outputs"] == {"slept": 0.1}


def test_run_refuses_bad_inputs_clearly(env: dict[str, str | None]) -> None:
    result = kawa(env, "run", str(FIXTURES / "workflow-hello.yml"), ok=False)
    assert result.exit_code == 1 and "name is required in input form" in result.stderr

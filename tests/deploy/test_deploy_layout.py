"""The deployment files, checked here without a container engine (this machine has none): the compose file parses
and wires kawa x N to PostgreSQL, Redis and HAProxy with settings kawa accepts; the Dockerfile is multi-stage and
ends unprivileged; the systemd unit's ExecStart line really starts kawa (on a free port) and its KillSignal drains
it within TimeoutStopSec."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from support.server import free_port

from kawa.cli import cli
from kawa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"


def parses_as_kawa_command(argv: list[str]) -> None:
    """`argv` (after `kawa`) is a command line kawa's CLI accepts."""
    assert argv[0] == "kawa", argv
    command = typer.main.get_command(cli)
    with command.make_context("kawa", argv[1:], resilient_parsing=False) as ctx:
        sub = command.get_command(ctx, argv[1])  # type: ignore[attr-defined]
        assert sub is not None, argv
        rest = argv[2:]
        if hasattr(sub, "get_command") and rest:  # a group: `kawa db upgrade`
            sub = sub.get_command(ctx, rest[0])
            assert sub is not None, argv
            rest = rest[1:]
        sub.make_context(argv[1], list(rest), parent=ctx)


def test_compose_runs_kawa_replicas_behind_haproxy_on_postgresql_and_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "kawa", "lb"}
    kawa = services["kawa"]
    assert kawa["deploy"]["replicas"] >= 2 and kawa["cap_drop"] == ["ALL"]
    assert kawa["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    parses_as_kawa_command(kawa["command"])
    parses_as_kawa_command(services["migrate"]["command"])
    for name, value in kawa["environment"].items():  # the settings kawa would read in the container
        substituted = value.replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw")
        substituted = substituted.split("${")[0] + ("x" * 32 if "KAWA_SECRET_KEY" in value else "")
        monkeypatch.setenv(name, substituted)
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://kawa:pw@postgres:5432/kawa"
    assert settings.redis_url == "redis://redis:6379/0" and settings.telemetry.log_format == "json"
    assert settings.secret_key is not None
    haproxy = (DEPLOY / "haproxy.cfg").read_text()
    assert "option httpchk GET /readyz" in haproxy and "server-template kawa 1-8 kawa:5001" in haproxy
    assert services["lb"]["volumes"] == ["./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"]


def test_the_dockerfile_builds_in_stages_and_runs_unprivileged() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines() if line and line[0] != "#"]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    runtime = lines[lines.index(stages[1]) :]
    user = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert user == ["10001:10001"]
    assert any(line.startswith("COPY --from=build ") for line in runtime)
    command = next(line for line in runtime if line.startswith("CMD ["))  # not the HEALTHCHECK's CMD
    parses_as_kawa_command(yaml.safe_load(command.removeprefix("CMD ")))


def test_the_systemd_units_exec_start_starts_kawa_and_sigterm_stops_it(tmp_path: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "kawa.service")
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/kawa/.venv/bin/kawa"
    kawa = shutil.which("kawa", path=str(Path(sys.executable).parent))
    assert kawa is not None
    port = free_port()
    argv = [kawa, *argv[1:]]
    argv[argv.index("--port") + 1] = str(port)
    environment = dict(line.split("=", 1) for line in service["Environment"].splitlines() if line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(environment, KAWA_HOME=str(tmp_path), KAWA_SANDBOX__JAVASCRIPT_WORKERS="0")
    assert service["KillSignal"] == "SIGTERM"
    stop_within = float(service["TimeoutStopSec"])
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "kawa exited"
            assert time.monotonic() < deadline, "kawa did not become ready"
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=stop_within) == 0
    finally:
        if process.poll() is None:
            process.kill()

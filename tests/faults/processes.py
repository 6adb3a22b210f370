"""Real `kawa serve` processes for the fault suite: one environment (database, Redis, model upstream) shared by
several processes, each of which can be killed, terminated or waited for, with its log kept in a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from support.server import free_port

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KAWA = [sys.executable, "-m", "kawa.cli"]
UPSTREAM_KEY = "sk-fault-suite"
START_TIMEOUT_S = 90.0  # a bound, not a speed test: starts take seconds, but the machine is shared


@dataclass
class KawaEnvironment:
    """What every process of one scenario shares: a home, a database, maybe Redis, the fake model upstream."""

    home: Path
    database_url: str
    redis_url: str | None = None
    upstream_url: str | None = None
    model_timeout_s: float = 5.0
    model_max_retries: int = 0
    model_call_deadline_s: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def variables(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "kawa.toml"
        lines = [
            "[models]",
            f"timeout_s = {self.model_timeout_s}",
            "connect_timeout_s = 2.0",
            f"max_retries = {self.model_max_retries}",
            "retry_backoff_s = 0.1",
            *([f"call_deadline_s = {self.model_call_deadline_s}"] if self.model_call_deadline_s else []),
            "[models.embedded]",
            "chat = false",
        ]
        if self.upstream_url:
            lines += ["[models.providers.openai]", f'base_url = "{self.upstream_url}"', f'api_key = "{UPSTREAM_KEY}"']
        config.write_text("\n".join(lines) + "\n")
        env.update(KAWA_HOME=str(self.home), KAWA_DATABASE_URL=self.database_url, KAWA_CONFIG=str(config))
        if self.redis_url:
            env["KAWA_REDIS_URL"] = self.redis_url
        env.update(self.extra)
        return env

    def import_apps(self, *apps: str) -> dict[str, str]:
        """Import `fault-<app>.yml` from tests/faults/fixtures for each app, in one `kawa` process (the CLI's own
        command, run once per file); returns each app's API key."""
        paths = [str(FIXTURES / f"fault-{app}.yml") for app in apps]
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_SCRIPT, *paths],
            env=self.variables(),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        decoder, text, keys = json.JSONDecoder(), done.stdout, []
        position = text.find("{")
        while position != -1:
            imported, position = decoder.raw_decode(text, position)
            keys.append(str(imported["api_key"]))
            position = text.find("{", position)
        assert len(keys) == len(apps), done.stdout
        return dict(zip(apps, keys, strict=True))


_IMPORT_SCRIPT = """
import sys
from kawa.cli import cli
for path in sys.argv[1:]:
    cli(["app", "import", path, "--json"], standalone_mode=False)
"""


@dataclass
class KawaProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None when the process is still running after `timeout` seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            if self.wait_exit(20) is None:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_kawa(environment: KawaEnvironment, name: str) -> KawaProcess:
    """Start `kawa serve` on a free port and wait until /healthz answers."""
    port = free_port()
    log = environment.home / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*KAWA, "serve", "--port", str(port)], env=environment.variables(), stdout=out, stderr=subprocess.STDOUT
        )
    process = KawaProcess(proc, port, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(process.base_url + "/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if not process.alive() or time.monotonic() > deadline:
            process.stop()
            raise AssertionError(f"kawa serve {name} did not start:\n{process.log_tail()}")
        time.sleep(0.1)


class Processes:
    """Starts `kawa serve` processes for one test and stops every one still running at its end."""

    def __init__(self) -> None:
        self.started: list[KawaProcess] = []

    def start(self, environment: KawaEnvironment, name: str) -> KawaProcess:
        process = start_kawa(environment, name)
        self.started.append(process)
        return process

    def start_many(self, environment: KawaEnvironment, *names: str) -> list[KawaProcess]:
        """Start several processes at once (each start is mostly waiting for imports)."""
        with ThreadPoolExecutor(len(names)) as pool:
            started = list(pool.map(lambda name: start_kawa(environment, name), names))
        self.started += started
        return started

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()

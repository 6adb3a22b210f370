"""A real `kawa serve` for benchmarks: a fresh KAWA_HOME, one imported app, the server in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class BenchServer:
    base_url: str
    api_key: str
    pid: int


@contextmanager
def running_kawa(app_file: Path, *, port: int, env: dict[str, str] | None = None) -> Iterator[BenchServer]:
    full_env = {
        **os.environ,
        "KAWA_HOME": tempfile.mkdtemp(prefix="kawa-bench-"),
        "KAWA_LOG_LEVEL": "warning",
        **(env or {}),
    }
    kawa = [sys.executable, "-m", "kawa.cli"]
    imported = json.loads(
        subprocess.run(
            [*kawa, "app", "import", str(app_file), "--json"], env=full_env, check=True, capture_output=True, text=True
        ).stdout
    )
    server = subprocess.Popen([*kawa, "serve", "--port", str(port)], env=full_env, stdout=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base_url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
            if time.monotonic() > deadline:
                raise SystemExit("kawa serve did not start")
        yield BenchServer(base_url=base_url, api_key=imported["api_key"], pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=15)

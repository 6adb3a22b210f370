"""A real `kawa serve` for benchmarks: a fresh KAWA_HOME, one imported app, the server in a subprocess.

`workers` is `kawa serve --workers` (1 by default, so figures stay comparable with the single-process ones); the
server's pid is the parent's, and `process_tree_rss_mb` sums what it and its workers hold.
"""

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
def running_kawa(
    app_file: Path, *, port: int, env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[BenchServer]:
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
    server = subprocess.Popen(
        [*kawa, "serve", "--port", str(port), "--workers", str(workers)], env=full_env, stdout=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded 2-core machine can take 30 s to import and start
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
        server.wait(timeout=40)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (workers, sandbox workers), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""

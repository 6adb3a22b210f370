"""Start-up time and idle memory of `kawa serve --workers N` on SQLite: seconds from exec to the first 200 of
/readyz, to every worker serving, and each process's resident memory once idle (the parent, each worker, and the
code-sandbox workers apart). Run: `.venv/bin/python bench/serve_workers.py [--workers 1,2] [--repeat 3]`."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from kawa_server import command_of, descendants, rss_mb
from multi_host import free_port

KAWA = [sys.executable, "-m", "kawa.cli"]


def worker_pids(parent: int) -> list[int]:
    return [pid for pid in descendants(parent) if "kawa.cli.worker_server" in command_of(pid)]


def serving_pid(candidates: list[int], server_port: int, client_port: int) -> int | None:
    """Which process holds the server side of the connection from `client_port` (/proc/net/tcp, then fds)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
        if local == server_port and remote == client_port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in candidates:
        try:
            if any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
        except OSError:
            continue
    return None


def start_once(workers: int) -> tuple[float, float, dict[str, list[float]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(KAWA_HOME=tempfile.mkdtemp(prefix="kawa-start-"), KAWA_LOG_LEVEL="warning")
    subprocess.run([*KAWA, "db", "upgrade"], env=env, check=True, capture_output=True)  # not part of the start
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*KAWA, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = all_ready = None
        seen: set[int | None] = set()
        while all_ready is None:
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # a new connection each time
                    response = client.get("/readyz")
                    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
                    if response.status_code == 200:
                        ready = ready or time.perf_counter() - started
                        candidates = worker_pids(proc.pid) if workers > 1 else [proc.pid]
                        seen.add(serving_pid(candidates, port, client_port))
                        if len(seen - {None}) >= workers:
                            all_ready = time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > 120:
                raise SystemExit("kawa serve did not start")
            time.sleep(0.02)
        time.sleep(3)  # idle
        memory: dict[str, list[float]] = {"parent": [], "worker": [], "sandbox": []}
        for pid in descendants(proc.pid):
            command = command_of(pid)
            if pid == proc.pid and workers > 1:
                memory["parent"].append(rss_mb(pid))
            elif pid == proc.pid or "kawa.cli.worker_server" in command:
                memory["worker"].append(rss_mb(pid))
            else:
                memory["sandbox"].append(rss_mb(pid))
        assert ready is not None
        return ready, all_ready, memory
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def load() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for workers in [int(n) for n in args.workers.split(",")]:
        runs = [start_once(workers) for _ in range(args.repeat)]
        memory = runs[-1][2]
        print(
            f"--workers {workers}: /readyz after {statistics.median(r[0] for r in runs):.2f} s, every worker after "
            f"{statistics.median(r[1] for r in runs):.2f} s (median of {args.repeat}); idle RSS MB: parent "
            f"{[round(m) for m in memory['parent']]}, workers {[round(m) for m in memory['worker']]}, sandbox "
            f"processes {[round(m) for m in memory['sandbox']]}; loadavg {load()}"
        )


if __name__ == "__main__":
    main()

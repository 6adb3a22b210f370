"""The multi-host layout measured: 1, 2 and 3 `kawa serve` backends on one PostgreSQL and one Redis behind a real
HAProxy (Debian's `haproxy`, round robin per request), with keep-alive clients sending blocking runs of the example
workflow (start → template → end) through the proxy.

For each backend count it prints req/s, median and p99 latency, the resident memory of each backend (its own
processes; its code-sandbox workers apart), the PostgreSQL connections the backends hold, and the load average.
On a 2-core machine the backends are separate processes sharing the same two cores (and the proxy, the database and
the load generator share them too): the figures say what the layout costs and that nothing is lost on the way, not
how a third machine would add capacity. Run:

    .venv/bin/python bench/multi_host.py [--requests 3000] [--clients 16] [--backends 1,2,3] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from kawa_server import command_of, descendants, rss_mb

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "kawa" / "examples" / "hello-workflow.yml"
POSTGRES_ADMIN_URL = os.environ.get("KAWA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KAWA_TEST_REDIS", "redis://127.0.0.1:6379/0")
KAWA = [sys.executable, "-m", "kawa.cli"]
HAPROXY_CONFIG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 5s
    option http-keep-alive
    retries 3
frontend kawa
    bind 127.0.0.1:{port}
    default_backend kawas
backend kawas
    balance roundrobin
    option httpchk GET /readyz
{servers}
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A throw-away database: (its name, its SQLAlchemy URL)."""
    import psycopg

    name = f"kawa_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield name, f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_connections(database: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
    return int(row[0]) if row else 0


def wait_ready(url: str, proc: subprocess.Popen[bytes], *, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not become ready")
        time.sleep(0.05)


@contextmanager
def backends(count: int, env: dict[str, str], workers: int) -> Iterator[list[tuple[int, subprocess.Popen[bytes]]]]:
    started: list[tuple[int, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen(
                [*KAWA, "serve", "--port", str(port), "--workers", str(workers)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append((port, proc))
        for port, proc in started:
            wait_ready(f"http://127.0.0.1:{port}", proc)
        yield started
    finally:
        for _, proc in started:
            proc.terminate()
        for _, proc in started:
            proc.wait(timeout=60)


@contextmanager
def haproxy(ports: list[int], workdir: Path) -> Iterator[int]:
    binary = shutil.which("haproxy")
    if binary is None:
        raise SystemExit("haproxy is not installed (apt-get install -y haproxy)")
    port = free_port()
    servers = "\n".join(f"    server k{i} 127.0.0.1:{p} check inter 1s fall 5 rise 1" for i, p in enumerate(ports))
    config = workdir / f"haproxy-{port}.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
    proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:  # every backend passed its first health check
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("haproxy did not come up")
            time.sleep(0.05)
        time.sleep(1.5)  # the first checks of the other backends (inter 1 s)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    writer.write(request)
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    if b" 200 " not in status:
        raise RuntimeError(f"{status!r} {body[:200]!r}")
    return body


async def blocking_round(port: int, key: str, clients: int, total: int) -> tuple[list[float], float]:
    """`total` blocking runs from `clients` keep-alive connections (a minimal HTTP/1.1 client: the load generator
    shares the cores with the servers, so it should cost as little as it can)."""
    latencies: list[float] = []
    remaining = [total]

    async def client(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                body = json.dumps({"inputs": {"name": f"n{remaining[0]}"}, "user": f"u{index}"}).encode()
                request = (
                    f"POST /v1/workflows/run HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                started = time.perf_counter()
                answer = json.loads(await _post(reader, writer, request))
                latencies.append(time.perf_counter() - started)
                assert answer["data"]["status"] == "succeeded", answer
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies, total / (time.perf_counter() - started)


def backend_memory(pid: int) -> tuple[float, float]:
    """(MB of the backend's own processes, MB of its code-sandbox workers)."""
    own = sandbox = 0.0
    for process in descendants(pid):
        if "kawa.sandbox" in command_of(process) or "node" in command_of(process).split(" ")[0]:
            sandbox += rss_mb(process)
        else:
            own += rss_mb(process)
    return own, sandbox


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backends", default="1,2,3")
    parser.add_argument("--workers", type=int, default=1, help="kawa serve --workers of each backend")
    args = parser.parse_args()
    counts = [int(n) for n in args.backends.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="kawa-multi-host-"))
    print(
        f"cores: {os.cpu_count()}; {args.clients} keep-alive clients; {args.requests} blocking runs per row; "
        f"--workers {args.workers} per backend; PostgreSQL + Redis; HAProxy round robin"
    )
    print("backends | req/s  | median ms | p99 ms | MB per backend (+ sandbox) | PG conns | loadavg")
    with postgres_database() as (db_name, db_url):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
        env.update(KAWA_HOME=str(workdir), KAWA_DATABASE_URL=db_url, KAWA_REDIS_URL=REDIS_URL, KAWA_LOG_LEVEL="warning")
        imported = subprocess.run(
            [*KAWA, "app", "import", str(EXAMPLE), "--json"], env=env, capture_output=True, text=True, check=True
        )
        key = json.loads(imported.stdout)["api_key"]
        for count in counts:
            with ExitStack() as stack:
                running = stack.enter_context(backends(count, env, args.workers))
                port = stack.enter_context(haproxy([p for p, _ in running], workdir))
                asyncio.run(blocking_round(port, key, args.clients, 200))  # warm-up
                latencies, rps = asyncio.run(blocking_round(port, key, args.clients, args.requests))
                load = Path("/proc/loadavg").read_text().split()[:3]
                memory = [backend_memory(proc.pid) for _, proc in running]
                connections = postgres_connections(db_name)
                mb = ", ".join(f"{own:.0f} (+{sandbox:.0f})" for own, sandbox in memory)
                print(
                    f"{count:8} | {rps:6.1f} | {statistics.median(latencies) * 1000:9.2f} | "
                    f"{percentile(latencies, 0.99) * 1000:6.1f} | {mb:26} | {connections:8} | {' '.join(load)}"
                )


if __name__ == "__main__":
    main()

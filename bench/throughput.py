"""Throughput of blocking workflow runs against a real `kawa serve`: CPU per run, commits per run, latency, req/s.

The workflow is issue 11's 7-node one: start → code (python3) → if-else → template (one of two branches) →
variable-aggregator → template → end (8 nodes in the graph, 7 run per request). For each database it prints:

- the sequential median and p99 (one client, keep-alive);
- req/s with 16 keep-alive clients;
- CPU per run over the 16-client round: user + system time of the server process and all its descendants (sandbox
  workers and the children they forked, reaped or alive), from /proc, so the load generator is left out;
- database commits per run: every committed transaction of the server (a bench-only hook in `kawa.store.database`
  appends a byte per commit to `KAWA_BENCH_COMMIT_LOG`), and on PostgreSQL also `pg_stat_database.xact_commit` of
  the bench's own database.

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio streams (a few µs per request) rather than
httpx, so on a 2-core machine it takes as little CPU from the server as it can.

    .venv/bin/python bench/throughput.py [--runs 2000] [--sequential 500] [--databases sqlite,postgresql]

Measured 2026-11-30 on the 2-core machine while 7 other sessions ran tests (load average 11-18, so CPU times are
inflated ~3x against an idle machine and latencies are the machine's, not kawa's), HEAD b348020 without and with
group commit, the key cache and the lean sandbox zygote, 2,000 runs with 16 clients:
SQLite CPU/run 42.8 -> 25.0 ms, commits/run 3.27 -> 1.56, 3.7 -> 19.5 req/s;
PostgreSQL CPU/run 46.4 -> 27.7 ms, commits/run 3.40 -> 1.55 (xact_commit 8.42 -> 3.30), 6.4 -> 12.8 req/s.
About 1.3 of the remaining commits per run are the durable-run event log's own inserts (not yet batched).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kawa_server import BenchServer, running_kawa

POSTGRES_ADMIN_URL = os.environ.get("KAWA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _template(node_id: str, title: str, template: str, variables: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "custom",
        "data": {
            "type": "template-transform",
            "title": title,
            "template": template,
            "variables": [{"variable": k, "value_selector": v} for k, v in variables.items()],
        },
    }


def seven_node_workflow() -> dict[str, Any]:
    """start → code → if-else → (long | short template) → variable-aggregator → template → end."""
    nodes = [
        {
            "id": "start",
            "type": "custom",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [{"variable": "name", "label": "Name", "type": "text-input", "required": True}],
            },
        },
        {
            "id": "code",
            "type": "custom",
            "data": {
                "type": "code",
                "title": "Measure",
                "code_language": "python3",
                "code": "def main(name: str) -> dict:\n    return {'length': len(name), 'upper': name.upper()}\n",
                "variables": [{"variable": "name", "value_selector": ["start", "name"]}],
                "outputs": {
                    "length": {"type": "number", "children": None},
                    "upper": {"type": "string", "children": None},
                },
            },
        },
        {
            "id": "branch",
            "type": "custom",
            "data": {
                "type": "if-else",
                "title": "Long name?",
                "cases": [
                    {
                        "case_id": "long",
                        "logical_operator": "and",
                        "conditions": [
                            {"variable_selector": ["code", "length"], "comparison_operator": ">", "value": "5"}
                        ],
                    }
                ],
            },
        },
        _template("long", "Long", "{{ upper }} is a long name", {"upper": ["code", "upper"]}),
        _template("short", "Short", "{{ upper }} is short", {"upper": ["code", "upper"]}),
        {
            "id": "pick",
            "type": "custom",
            "data": {
                "type": "variable-aggregator",
                "title": "Pick",
                "output_type": "string",
                "variables": [["long", "output"], ["short", "output"]],
            },
        },
        _template(
            "reply",
            "Reply",
            "Hello, {{ name }}! {{ verdict }} ({{ length }} letters).",
            {"name": ["start", "name"], "verdict": ["pick", "output"], "length": ["code", "length"]},
        ),
        {
            "id": "end",
            "type": "custom",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "reply", "value_type": "string", "value_selector": ["reply", "output"]}],
            },
        },
    ]
    links = [
        ("start", "source", "code"),
        ("code", "source", "branch"),
        ("branch", "long", "long"),
        ("branch", "false", "short"),
        ("long", "source", "pick"),
        ("short", "source", "pick"),
        ("pick", "source", "reply"),
        ("reply", "source", "end"),
    ]
    edges = [
        {"id": f"e{i}", "source": s, "sourceHandle": h, "target": t, "targetHandle": "target", "type": "custom"}
        for i, (s, h, t) in enumerate(links)
    ]
    return {
        "version": "0.5.0",
        "kind": "app",
        "app": {"name": "Throughput bench", "mode": "workflow", "icon": "🏎", "description": "issue 11's workflow"},
        "workflow": {
            "environment_variables": [],
            "conversation_variables": [],
            "features": {},
            "graph": {"nodes": nodes, "edges": edges},
        },
    }


# --- a minimal keep-alive HTTP/1.1 client -----------------------------------------------------------------------


class KeepAliveConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, key: str) -> None:
        self.reader, self.writer = reader, writer
        self.head = f"POST /v1/workflows/run HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"

    @classmethod
    async def open(cls, host: str, port: int, key: str) -> KeepAliveConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}", key)

    async def run(self, name: str, user: str) -> dict[str, Any]:
        body = json.dumps({"inputs": {"name": name}, "user": user, "response_mode": "blocking"}).encode()
        self.writer.write(
            (self.head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        )
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name_, _, value = line.partition(b":")
            if name_.lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        if b" 200 " not in status_line:
            raise SystemExit(f"run failed: {status_line!r} {payload[:300]!r}")
        result: dict[str, Any] = json.loads(payload)
        return result

    def close(self) -> None:
        self.writer.close()


async def run_round(host: str, port: int, key: str, clients: int, total: int) -> tuple[list[float], float]:
    """`total` blocking runs over `clients` keep-alive connections: (latencies, elapsed seconds)."""
    connections = [await KeepAliveConnection.open(host, port, key) for _ in range(clients)]
    latencies: list[float] = []
    counter = iter(range(total))

    async def client(connection: KeepAliveConnection) -> None:
        for i in counter:
            began = time.perf_counter()
            # alternate long and short names, so both branches of the if-else run
            result = await connection.run("kawa" if i % 2 else "throughput", f"user-{i % 8}")
            latencies.append(time.perf_counter() - began)
            if result["data"]["status"] != "succeeded":
                raise SystemExit(f"run did not succeed: {result}")

    began = time.perf_counter()
    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return latencies, time.perf_counter() - began


# --- CPU of the server and its descendants, commits --------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, user+system seconds of the process, of its reaped children)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return int(fields[1]), (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> tuple[float, float]:
    """CPU seconds of `root` itself, and of all its descendants: live ones (sandbox workers, each with the children
    it reaped) and the ones `root` reaped (recycled sandbox workers, server workers)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            stats[int(entry)] = found
    if root not in stats:
        return 0.0, 0.0
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    descendants, todo = stats[root][2], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        descendants += stats[pid][1] + stats[pid][2]
        todo.extend(children.get(pid, []))
    return stats[root][1], descendants


def _pg_commits(database: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (database,)).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database: (SQLAlchemy URL, name); dropped afterwards."""
    import psycopg

    name = f"kawa_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}", name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Figures:
    database: str
    sequential_median_ms: float
    sequential_p99_ms: float
    rps: float
    concurrent_median_ms: float
    cpu_ms_per_run: float
    sandbox_cpu_ms_per_run: float
    commits_per_run: float
    pg_commits_per_run: float | None
    loadavg: str


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(server: BenchServer, commit_log: Path, runs: int, sequential: int, pg_name: str | None) -> Figures:
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    asyncio.run(run_round(host, port, server.api_key, 4, 200))  # warm-up: end users, caches, sandbox pool
    seq, _ = asyncio.run(run_round(host, port, server.api_key, 1, sequential))

    time.sleep(1.5)  # PostgreSQL's statistics are flushed about once a second
    pg_before = _pg_commits(pg_name) if pg_name else 0
    commits_before = commit_log.stat().st_size
    cpu_before = tree_cpu_seconds(server.pid)
    latencies, elapsed = asyncio.run(run_round(host, port, server.api_key, 16, runs))
    cpu_after = tree_cpu_seconds(server.pid)
    commits_after = commit_log.stat().st_size
    loadavg = Path("/proc/loadavg").read_text().split(" ")[:3]
    time.sleep(1.5)
    pg_after = _pg_commits(pg_name) if pg_name else 0
    return Figures(
        database="postgresql" if pg_name else "sqlite",
        sequential_median_ms=statistics.median(seq) * 1000,
        sequential_p99_ms=_percentile(seq, 0.99) * 1000,
        rps=runs / elapsed,
        concurrent_median_ms=statistics.median(latencies) * 1000,
        cpu_ms_per_run=(sum(cpu_after) - sum(cpu_before)) / runs * 1000,
        sandbox_cpu_ms_per_run=(cpu_after[1] - cpu_before[1]) / runs * 1000,
        commits_per_run=(commits_after - commits_before) / runs,
        pg_commits_per_run=(pg_after - pg_before) / runs if pg_name else None,
        loadavg=" ".join(loadavg),
    )


def bench(database: str, runs: int, sequential: int, port: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="kawa-throughput-") as tmp:
        app_file = Path(tmp) / "seven-nodes.yml"
        app_file.write_text(yaml.safe_dump(seven_node_workflow(), allow_unicode=True, sort_keys=False))
        commit_log = Path(tmp) / "commits"
        commit_log.touch()
        env = {"KAWA_BENCH_COMMIT_LOG": str(commit_log)}
        if database == "sqlite":
            with running_kawa(app_file, port=port, env=env) as server:
                return measure(server, commit_log, runs, sequential, None)
        with (
            postgres_database() as (url, name),
            running_kawa(app_file, port=port, env={**env, "KAWA_DATABASE_URL": url}) as server,
        ):
            return measure(server, commit_log, runs, sequential, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs of the 16-client round (CPU, commits, req/s)")
    parser.add_argument("--sequential", type=int, default=500, help="runs of the one-client round (median)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--port", type=int, default=5793)
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}; load average before: {Path('/proc/loadavg').read_text().strip()}")
    for database in args.databases.split(","):
        f = bench(database, args.runs, args.sequential, args.port)
        pg = f"  (pg_stat xact_commit {f.pg_commits_per_run:.2f})" if f.pg_commits_per_run is not None else ""
        print(
            f"{f.database:<10} sequential median {f.sequential_median_ms:6.2f} ms  p99 {f.sequential_p99_ms:6.2f} ms | "
            f"16 clients {f.rps:6.1f} req/s  median {f.concurrent_median_ms:6.1f} ms | "
            f"CPU/run {f.cpu_ms_per_run:5.2f} ms (children {f.sandbox_cpu_ms_per_run:4.2f}) | "
            f"commits/run {f.commits_per_run:.2f}{pg} | load {f.loadavg}"
        )


if __name__ == "__main__":
    main()

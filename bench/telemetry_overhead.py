"""What metrics and tracing cost per run: bench/http_workflow.py's blocking round (3-node workflow, 16 clients) on
a real `kawa serve` with telemetry off, with metrics (the default) and with metrics + OpenTelemetry tracing exported
over OTLP/HTTP to a loopback receiver that decodes every request. Configurations alternate, twice each; the figure
that matters on a shared machine is the server's CPU time per run (its /proc utime+stime over the round), which
load from other processes barely moves; throughput and median latency are printed alongside.

Run: `python bench/telemetry_overhead.py [--requests N] [--repeats R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from http_workflow import EXAMPLE, blocking_round
from kawa_server import running_kawa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from support.server import free_port

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Receiver:
    """Counts the spans of the OTLP/HTTP export requests it decodes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                receiver.spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def one_round(base_url: str, key: str, pid: int, requests: int) -> tuple[float, float, float]:
    """(server CPU ms per run, runs/s, median latency ms) of one blocking round with 16 clients."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url + "/v1", headers=headers, limits=limits, timeout=60) as client:
        await blocking_round(client, 4, 100)  # warm-up
        before = cpu_seconds(pid)
        latencies, rps = await blocking_round(client, 16, requests)
        used = cpu_seconds(pid) - before
    return used / requests * 1000, rps, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    receiver = Receiver()
    configs = {
        "telemetry off": {"KAWA_TELEMETRY__METRICS": "false"},
        "metrics (default)": {},
        "metrics + tracing": {
            "KAWA_TELEMETRY__TRACING": "true",
            "KAWA_TELEMETRY__OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
        },
    }
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in configs}
    print(f"loadavg before: {Path('/proc/loadavg').read_text().split()[:3]}")
    for repeat in range(args.repeats):
        for name, env in configs.items():
            with running_kawa(EXAMPLE, port=free_port(), env=env) as server:
                figures = asyncio.run(one_round(server.base_url, server.api_key, server.pid, args.requests))
            results[name].append(figures)
            print(
                f"  round {repeat + 1} {name:18} cpu {figures[0]:.3f} ms/run  {figures[1]:7.1f} runs/s  "
                f"median {figures[2]:.2f} ms   loadavg {Path('/proc/loadavg').read_text().split()[:3]}"
            )
    base = statistics.median(cpu for cpu, _, _ in results["telemetry off"])
    for name, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        rps = statistics.median(r[1] for r in rows)
        print(f"{name:18} cpu {cpu:.3f} ms/run ({(cpu / base - 1) * 100:+.1f} %)  {rps:7.1f} runs/s")
    print(f"spans received: {receiver.spans}; loadavg after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()

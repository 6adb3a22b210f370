"""HTTP benchmark: a 3-node workflow (start → template → end) over loopback against a real `kawa serve`.

Prints blocking latency (median, p99) and requests/s with 1, 16 and 64 concurrent clients, and the streaming time
to the first event. Run: `python bench/http_workflow.py [--requests N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx
from kawa_server import running_kawa

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "kawa" / "examples" / "hello-workflow.yml"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def blocking_round(client: httpx.AsyncClient, concurrency: int, total: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post("/workflows/run", json={"inputs": {"name": f"user{i}"}, "user": f"u{i % 8}"})
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200 and response.json()["data"]["status"] == "succeeded", response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, total / (time.perf_counter() - started)


async def first_event_times(client: httpx.AsyncClient, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        body = {"inputs": {"name": f"s{i}"}, "user": "stream", "response_mode": "streaming"}
        async with client.stream("POST", "/workflows/run", json=body) as response:
            first = True
            async for _ in response.aiter_bytes():
                if first:
                    times.append(time.perf_counter() - started)
                    first = False
    return times


async def measure(base_url: str, key: str, total: int) -> None:
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url + "/v1", headers=headers, limits=limits, timeout=60) as client:
        await blocking_round(client, 4, 50)  # warm-up
        for concurrency in (1, 16, 64):
            latencies, rps = await blocking_round(client, concurrency, total)
            print(
                f"blocking c={concurrency:<3} median {statistics.median(latencies) * 1000:7.2f} ms   "
                f"p99 {percentile(latencies, 0.99) * 1000:7.2f} ms   {rps:8.1f} req/s"
            )
        firsts = await first_event_times(client, 100)
        print(
            f"streaming time to first event: median {statistics.median(firsts) * 1000:.2f} ms, "
            f"p99 {percentile(firsts, 0.99) * 1000:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=5791)
    args = parser.parse_args()
    env = {"KAWA_DATABASE_URL": args.database_url} if args.database_url else {}
    with running_kawa(EXAMPLE, port=args.port, env=env) as server:
        print(f"database: {args.database_url or 'sqlite (default)'}; {args.requests} requests per round")
        asyncio.run(measure(server.base_url, server.api_key, args.requests))


if __name__ == "__main__":
    main()

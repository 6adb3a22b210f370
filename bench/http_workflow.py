"""HTTP benchmark: a 3-node workflow (start → template → end) over loopback against a real `kawa serve`.

Prints blocking latency (median, p99) and requests/s with 1, 16 and 64 concurrent clients, the streaming time
to the first event one stream at a time, and the first-event time of 64 streams opened at once (p50, p99: what a
burst of clients waits before anything arrives). Run:
`python bench/http_workflow.py [--requests N] [--database-url URL] [--workers N]`.
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


async def concurrent_first_events(base_url: str, key: str, streams: int) -> list[float]:
    """`streams` streaming runs started at once, each on its own connection (opened beforehand, so connecting is
    not counted): seconds from sending each request to its first byte."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    async with httpx.AsyncClient(base_url=base_url + "/v1", headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(client.get("/parameters") for _ in range(streams)))  # open the connections
        go = asyncio.Event()
        times: list[float] = []

        async def one(i: int) -> None:
            await go.wait()
            body = {"inputs": {"name": f"c{i}"}, "user": f"burst{i % 8}", "response_mode": "streaming"}
            started = time.perf_counter()
            async with client.stream("POST", "/workflows/run", json=body) as response:
                chunks = response.aiter_bytes()
                await anext(chunks)
                times.append(time.perf_counter() - started)
                async for _ in chunks:
                    pass

        tasks = [asyncio.create_task(one(i)) for i in range(streams)]
        await asyncio.sleep(0.1)
        go.set()
        await asyncio.gather(*tasks)
    return times


async def measure(base_url: str, key: str, total: int, rounds: list[int], streams: int) -> None:
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url + "/v1", headers=headers, limits=limits, timeout=60) as client:
        await blocking_round(client, 4, 50)  # warm-up
        for concurrency in rounds:
            latencies, rps = await blocking_round(client, concurrency, total)
            print(
                f"blocking c={concurrency:<3} median {statistics.median(latencies) * 1000:7.2f} ms   "
                f"p99 {percentile(latencies, 0.99) * 1000:7.2f} ms   {rps:8.1f} req/s"
            )
        firsts = await first_event_times(client, streams)
        print(
            f"streaming time to first event: median {statistics.median(firsts) * 1000:.2f} ms, "
            f"p99 {percentile(firsts, 0.99) * 1000:.2f} ms"
        )
    for _ in range(3):
        burst = await concurrent_first_events(base_url, key, 64)
        print(
            f"64 concurrent streams, first event: p50 {statistics.median(burst) * 1000:.1f} ms, "
            f"p99 {percentile(burst, 0.99) * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=5791)
    parser.add_argument("--workers", type=int, default=1, help="kawa serve --workers")
    parser.add_argument("--rounds", default="1,16,64", help="concurrent clients of each blocking round")
    parser.add_argument("--streams", type=int, default=100, help="sequential streams timed to the first event")
    args = parser.parse_args()
    env = {"KAWA_DATABASE_URL": args.database_url} if args.database_url else {}
    with running_kawa(EXAMPLE, port=args.port, env=env, workers=args.workers) as server:
        print(
            f"database: {args.database_url or 'sqlite (default)'}; --workers {args.workers}; "
            f"{args.requests} requests per round; loadavg {Path('/proc/loadavg').read_text().split()[:3]}"
        )
        rounds = [int(c) for c in args.rounds.split(",")]
        asyncio.run(measure(server.base_url, server.api_key, args.requests, rounds, args.streams))
        print(f"loadavg after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()

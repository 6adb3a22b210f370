"""Human Input benchmark: time from a form submission to the first event of the resumed run, against a real
`kawa serve` (the approval workflow of tests/durable: draft → Human Input → answer).

For each of N runs: start a streaming run until it pauses, re-attach to its event stream (`Last-Event-ID` = the last
event seen), send the form, and time from sending the submission to the first resumed event on the re-attached
stream. Prints p50 / p99 and the machine's load. Run: `python bench/human_input.py [--runs N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from kawa_server import running_kawa

ROOT = Path(__file__).resolve().parent.parent
APPROVAL = ROOT / "tests" / "durable" / "fixtures" / "workflow-approval.yml"
ANSWER = {"inputs": {"comment": "ok", "priority": "low"}, "action": "approve", "user": "bench"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def paused_run(client: httpx.AsyncClient, i: int) -> tuple[str, str, int]:
    body = {"inputs": {"name": f"n{i}"}, "response_mode": "streaming", "user": "bench"}
    run_id = token = ""
    last = 0
    async with client.stream("POST", "/workflows/run", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                last = int(line[4:])
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                if event["event"] == "human_input_required":
                    run_id, token = event["workflow_run_id"], event["data"]["form_token"]
    return run_id, token, last


async def time_to_resumed_event(client: httpx.AsyncClient, run_id: str, token: str, last: int) -> float:
    headers = {"Last-Event-ID": str(last)}
    params = {"user": "bench"}
    async with client.stream("GET", f"/workflow/{run_id}/events", params=params, headers=headers) as response:
        lines = response.aiter_lines()
        started = time.perf_counter()
        submitted = await client.post(f"/form/human_input/{token}", json=ANSWER)
        assert submitted.status_code == 200, submitted.text
        async for line in lines:
            if line.startswith("data: "):
                elapsed = time.perf_counter() - started
                async for _ in lines:
                    pass
                return elapsed
    raise AssertionError("the resumed stream ended without an event")


async def measure(base_url: str, key: str, runs: int) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url + "/v1", headers=headers, timeout=60) as client:
        times = []
        for i in range(runs):
            run_id, token, last = await paused_run(client, i)
            times.append(await time_to_resumed_event(client, run_id, token, last))
        return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=5793)
    args = parser.parse_args()
    app = Path(tempfile.mkdtemp(prefix="kawa-bench-hi-")) / "approval.yml"
    app.write_text(APPROVAL.read_text().replace("timeout: TIMEOUT", "timeout: 1"))
    env = {"KAWA_DATABASE_URL": args.database_url} if args.database_url else {}
    with running_kawa(app, port=args.port, env=env) as server:
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        times = asyncio.run(measure(server.base_url, server.api_key, args.runs))
        print(
            f"database: {args.database_url or 'sqlite (default)'}; {args.runs} runs; loadavg before {load_before}, "
            f"after {Path('/proc/loadavg').read_text().split()[:3]}"
        )
        print(
            f"form submit -> first resumed event: p50 {statistics.median(times) * 1000:.1f} ms, "
            f"p99 {percentile(times, 0.99) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()

"""Chat benchmark against a real `kawa serve` whose model is the loopback OpenAI-compatible test upstream.

Prints: time to the first `message` event through kawa minus the upstream's own time to first token; requests/s of
blocking chat with 64 concurrent clients against the instant-answer upstream; the server's RSS growth over N
messages. Run: `python bench/chat.py [--messages 10000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.openai_server import FakeOpenAI, Scenario  # noqa: E402
from kawa_server import running_kawa  # noqa: E402

API_KEY = "sk-bench"
CHAT_APP = ROOT / "tests" / "fixtures" / "dsl" / "chat-assistant.yml"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def upstream_ttft(base_url: str, runs: int) -> list[float]:
    times = []
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        for _ in range(runs):
            started = time.perf_counter()
            async with client.stream("POST", f"{base_url}/chat/completions", json=body) as response:
                seen = False
                async for line in response.aiter_lines():
                    if not seen and line.startswith("data: ") and '"content"' in line:
                        times.append(time.perf_counter() - started)
                        seen = True
    return times


async def kawa_ttfm(client: httpx.AsyncClient, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        body = {
            "query": "hi",
            "inputs": {"unit": "celsius"},
            "user": f"ttfm{i}",
            "response_mode": "streaming",
            "auto_generate_name": False,
        }
        started = time.perf_counter()
        async with client.stream("POST", "/chat-messages", json=body) as response:
            seen = False
            async for line in response.aiter_lines():
                if not seen and line.startswith("data: ") and '"event":"message"' in line:
                    times.append(time.perf_counter() - started)
                    seen = True
    return times


async def blocking_load(client: httpx.AsyncClient, total: int, concurrency: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker(w: int) -> None:
        conversation = ""
        while not queue.empty():
            i = queue.get_nowait()
            response = await client.post(
                "/chat-messages",
                json={
                    "query": f"question {i}",
                    "inputs": {"unit": "celsius"},
                    "user": f"load{w}",
                    "conversation_id": conversation,
                    "auto_generate_name": False,
                },
            )
            assert response.status_code == 200, response.text
            conversation = response.json()["conversation_id"] if i % 20 else ""

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=5793)
    args = parser.parse_args()
    with FakeOpenAI(api_key=API_KEY) as fake:
        fake.on_model("gpt-4o-mini", Scenario(text="Sunny and mild, around twenty degrees."))
        env = {
            "KAWA_MODELS__PROVIDERS__OPENAI__BASE_URL": fake.base_url,
            "KAWA_MODELS__PROVIDERS__OPENAI__API_KEY": API_KEY,
        }
        with running_kawa(CHAT_APP, port=args.port, env=env) as server:
            asyncio.run(run_all(server.base_url, server.api_key, fake.base_url, server.pid, args.messages))


async def run_all(base_url: str, key: str, upstream: str, pid: int, messages: int) -> None:
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    async with httpx.AsyncClient(
        base_url=base_url + "/v1", headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=120
    ) as client:
        await blocking_load(client, 200, 8)  # warm-up
        direct = await upstream_ttft(upstream, 100)
        through = await kawa_ttfm(client, 100)
        print(f"upstream time to first token: median {statistics.median(direct) * 1000:.2f} ms")
        print(
            f"kawa time to first message:   median {statistics.median(through) * 1000:.2f} ms  "
            f"(kawa adds {(statistics.median(through) - statistics.median(direct)) * 1000:.2f} ms)"
        )
        rps = await blocking_load(client, 2000, 64)
        print(f"blocking chat, 64 concurrent clients: {rps:.1f} req/s")
        before = rss_mb(pid)
        started = time.perf_counter()
        await blocking_load(client, messages, 64)
        after = rss_mb(pid)
        print(
            f"{messages} messages in {time.perf_counter() - started:.1f} s: RSS {before:.1f} MB -> {after:.1f} MB "
            f"({after - before:+.1f} MB)"
        )


if __name__ == "__main__":
    main()

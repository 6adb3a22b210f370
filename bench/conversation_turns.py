"""What serialising a conversation and counting active requests across processes cost, against the real Redis.

Prints: the hand-over time from one turn's end to the next turn's start (in-process queue, and Redis queue between
two queues as two processes would be), the time a place in the queue takes when the conversation is idle, and the
time to take and give back a shared active-request slot. Run: `python bench/conversation_turns.py [--turns 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.databases import REDIS_URL  # noqa: E402

from kawa.apps.runners.active_requests import SharedActiveRequests  # noqa: E402
from kawa.apps.runners.conversation_queue import ConversationQueue  # noqa: E402


def describe(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{name:<52} median {statistics.median(ms):7.3f} ms   p95 {p95:7.3f} ms   (n={len(ms)})")


async def handovers(queues: list[ConversationQueue], turns: int) -> list[float]:
    """Turn i+1 is waiting while turn i runs; the time from i's release to i+1's start, alternating queues."""
    conversation = str(uuid.uuid4())
    released_at: list[float] = []
    gaps: list[float] = []

    async def turn(i: int) -> None:
        with queues[i % len(queues)].place(conversation) as ticket:
            ticket.handed_to_task = True
        await ticket.wait_turn()
        if released_at:
            gaps.append(time.perf_counter() - released_at[-1])
        released_at.append(time.perf_counter())
        await ticket.release()
        released_at[-1] = time.perf_counter()

    tasks = []
    for i in range(turns):
        tasks.append(asyncio.create_task(turn(i)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return gaps


async def idle_places(queue: ConversationQueue, turns: int) -> list[float]:
    times = []
    for _ in range(turns):
        started = time.perf_counter()
        with queue.place(str(uuid.uuid4())) as ticket:
            ticket.handed_to_task = True
        await ticket.wait_turn()
        times.append(time.perf_counter() - started)
        await ticket.release()
    return times


async def shared_slots(turns: int) -> list[float]:
    limiter = SharedActiveRequests(REDIS_URL)
    await limiter.start()
    app_id = str(uuid.uuid4())
    times = []
    try:
        for _ in range(turns):
            started = time.perf_counter()
            slot = await limiter.take(app_id, 2)
            assert slot is not None
            await limiter.give_back(slot)
            times.append(time.perf_counter() - started)
    finally:
        await limiter.close()
    return times


async def main(turns: int) -> None:
    local = ConversationQueue()
    describe("in-process queue: turn hand-over", await handovers([local], turns))
    describe("in-process queue: place + turn, idle conversation", await idle_places(local, turns))
    first, second = ConversationQueue(REDIS_URL), ConversationQueue(REDIS_URL)
    await first.start()
    await second.start()
    try:
        describe("Redis queue, 2 processes: turn hand-over", await handovers([first, second], turns // 4))
        describe("Redis queue: place + turn, idle conversation", await idle_places(first, turns))
    finally:
        await first.close()
        await second.close()
    describe("Redis active-request slot: take + give back", await shared_slots(turns))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    asyncio.run(main(parser.parse_args().turns))

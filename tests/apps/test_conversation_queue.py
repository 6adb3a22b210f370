"""The messages of one conversation take turns in arrival order: in one process, across processes (Redis), and
past a holder that died. `ConversationQueue` on its own, against the real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from support.databases import REDIS_URL, redis_available

from kawa.apps.runners.conversation_queue import ConversationQueue

_REDIS_PROBLEM = redis_available()
needs_redis = pytest.mark.skipif(bool(_REDIS_PROBLEM), reason=f"Redis not reachable: {_REDIS_PROBLEM}")


class Recorder:
    """What each turn saw: how many turns had finished when it began, and whether another turn was running."""

    def __init__(self) -> None:
        self.finished: list[int] = []
        self.running = 0
        self.overlaps = 0

    async def turn(self, queue: ConversationQueue, conversation_id: str, index: int, hold_s: float) -> None:
        with queue.place(conversation_id) as ticket:
            ticket.handed_to_task = True
        try:
            await ticket.wait_turn()
            self.running += 1
            self.overlaps += self.running > 1
            await asyncio.sleep(hold_s)
            self.finished.append(index)
            self.running -= 1
        finally:
            await ticket.release()


async def test_turns_run_one_at_a_time_in_arrival_order_in_one_process() -> None:
    queue = ConversationQueue()
    seen = Recorder()
    # Arrivals 1 ms apart while earlier turns still run: each must wait, and none may jump the queue.
    tasks = []
    for i in range(8):
        tasks.append(asyncio.create_task(seen.turn(queue, "c1", i, hold_s=0.01)))
        await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    assert seen.finished == list(range(8))
    assert seen.overlaps == 0


async def test_a_message_arriving_as_the_holder_leaves_waits_for_the_one_already_waiting() -> None:
    # The old per-conversation lock was dropped from its table when released with a waiter not yet woken, so a
    # message arriving at that moment got a fresh lock and ran beside the waiter.
    queue = ConversationQueue()
    seen = Recorder()
    first = asyncio.create_task(seen.turn(queue, "c1", 0, hold_s=0.02))
    second = asyncio.create_task(seen.turn(queue, "c1", 1, hold_s=0.02))
    await first
    third = asyncio.create_task(seen.turn(queue, "c1", 2, hold_s=0.02))  # the waiter has not run yet
    await asyncio.gather(second, third)
    assert seen.finished == [0, 1, 2]
    assert seen.overlaps == 0


async def test_other_conversations_do_not_wait() -> None:
    queue = ConversationQueue()
    seen = Recorder()
    started = time.monotonic()
    await asyncio.gather(*(seen.turn(queue, f"c{i}", i, hold_s=0.2) for i in range(5)))
    assert time.monotonic() - started < 0.4


async def turns_over_two_queues(gap_s: float) -> Recorder:
    """Eight turns arriving `gap_s` apart, alternately at two processes' queues, while earlier turns still run."""
    first, second = ConversationQueue(REDIS_URL, poll_s=0.005), ConversationQueue(REDIS_URL, poll_s=0.005)
    await first.start()
    await second.start()
    conversation = str(uuid.uuid4())
    seen = Recorder()
    try:
        tasks = []
        for i in range(8):
            queue = first if i % 2 == 0 else second
            tasks.append(asyncio.create_task(seen.turn(queue, conversation, i, hold_s=0.15)))
            await asyncio.sleep(gap_s)
        await asyncio.gather(*tasks)
    finally:
        await first.close()
        await second.close()
    return seen


@needs_redis
async def test_two_processes_take_turns_one_at_a_time_through_redis() -> None:
    seen = await turns_over_two_queues(gap_s=0.0)
    assert sorted(seen.finished) == list(range(8))
    assert seen.overlaps == 0
    # Each process's own messages keep their arrival order.
    assert [i for i in seen.finished if i % 2 == 0] == [0, 2, 4, 6]
    assert [i for i in seen.finished if i % 2 == 1] == [1, 3, 5, 7]


@needs_redis
async def test_two_processes_take_turns_in_arrival_order_through_redis() -> None:
    # Arrival across processes is arrival at the shared queue: one Redis round trip, far under the 50 ms between.
    seen = await turns_over_two_queues(gap_s=0.05)
    assert seen.finished == list(range(8))
    assert seen.overlaps == 0


@needs_redis
async def test_a_holder_whose_process_died_blocks_the_conversation_for_one_lease_only() -> None:
    conversation = str(uuid.uuid4())
    dead = ConversationQueue(REDIS_URL, lease_s=0.6)
    await dead.start()
    with dead.place(conversation) as held:
        held.handed_to_task = True
    await held.wait_turn()
    # The process is killed: no release, no more lease renewals.
    assert held._renewal is not None
    held._renewal.cancel()
    await dead.close()

    alive = ConversationQueue(REDIS_URL, lease_s=0.6, poll_s=0.01)
    await alive.start()
    try:
        with alive.place(conversation) as waiting:
            waiting.handed_to_task = True
        started = time.monotonic()
        await asyncio.wait_for(waiting.wait_turn(), timeout=5)
        waited = time.monotonic() - started
        await waiting.release()
    finally:
        await alive.close()
    assert waited < 1.0


@needs_redis
async def test_a_live_holder_keeps_its_turn_past_the_lease() -> None:
    conversation = str(uuid.uuid4())
    holder, other = ConversationQueue(REDIS_URL, lease_s=0.3), ConversationQueue(REDIS_URL, lease_s=0.3)
    await holder.start()
    await other.start()
    try:
        with holder.place(conversation) as held:
            held.handed_to_task = True
        await held.wait_turn()
        with other.place(conversation) as waiting:
            waiting.handed_to_task = True
        waiter = asyncio.create_task(waiting.wait_turn())
        await asyncio.sleep(1.0)  # three leases: renewed all along
        assert not waiter.done()
        await held.release()
        await asyncio.wait_for(waiter, timeout=2)
        await waiting.release()
    finally:
        await holder.close()
        await other.close()


@needs_redis
async def test_a_place_left_before_its_task_started_frees_the_queue() -> None:
    conversation = str(uuid.uuid4())
    queue = ConversationQueue(REDIS_URL, poll_s=0.005)
    await queue.start()
    try:
        with pytest.raises(LookupError), queue.place(conversation):
            raise LookupError("conversation not found")  # e.g. a 404 while the request was being checked
        with queue.place(conversation) as ticket:
            ticket.handed_to_task = True
        await asyncio.wait_for(ticket.wait_turn(), timeout=2)
        await ticket.release()
    finally:
        await queue.close()


async def test_without_a_reachable_redis_turns_fall_back_to_this_process_order() -> None:
    closed_port = "redis://127.0.0.1:1/0"  # nothing listens there: every Redis call fails at once
    queue = ConversationQueue(closed_port)
    await queue.start()
    seen = Recorder()
    try:
        tasks = [asyncio.create_task(seen.turn(queue, "c1", i, hold_s=0.01)) for i in range(5)]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    finally:
        await queue.close()
    assert seen.finished == list(range(5))
    assert seen.overlaps == 0

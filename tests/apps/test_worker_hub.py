"""The worker hub of `kawa serve --workers N` on real socketpairs: broadcast reaches every worker, slots and
conversation turns are counted across workers, and whatever a worker held is freed the moment its link closes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest

from kawa.apps.runners.broadcast import BroadcastUnavailable
from kawa.apps.runners.conversation_queue import ConversationQueue
from kawa.apps.runners.hub_link import WorkerHubLink
from kawa.apps.runners.stop_channel import CrossProcessStopUnavailable
from kawa.apps.runners.supervisor import TaskSupervisor
from kawa.apps.runners.task_handle import TaskHandle
from kawa.apps.runners.worker_hub import WorkerHub
from kawa.errors import TooManyRequests


class Hub:
    """A hub in this event loop and the links of the workers attached to it."""

    def __init__(self) -> None:
        self.hub = WorkerHub()

    async def link(self) -> WorkerHubLink:
        hub_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        reader, writer = await asyncio.open_unix_connection(sock=hub_end)
        self.hub.attach(reader, writer)
        return WorkerHubLink(lambda: worker_end)


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    hub = Hub()
    yield hub
    await hub.hub.close()


async def _until(condition: Callable[[], bool], within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.005)


async def test_a_published_message_reaches_every_subscribed_worker(hub: Hub) -> None:
    links = [await hub.link() for _ in range(3)]
    heard: list[tuple[int, str]] = []
    for index, link in enumerate(links):
        link.subscribe("news", lambda message, index=index: heard.append((index, message)))
        await link.start()
    assert await links[0].publish("news", "hello") == 3
    assert await links[0].publish("elsewhere", "nobody") == 0
    await _until(lambda: len(heard) == 3)
    assert sorted(heard) == [(0, "hello"), (1, "hello"), (2, "hello")]
    for link in links:
        await link.close()


async def test_slots_are_counted_across_workers_and_freed_when_a_worker_dies(hub: Hub) -> None:
    first, second = await hub.link(), await hub.link()
    await first.start()
    await second.start()
    held = [await first.take("app", 2), await second.take("app", 2)]
    assert all(held) and await second.take("app", 2) is None
    assert await first.take("other-app", 2) is not None  # limits are per app
    await second.give_back(held[1] or "")
    assert await first.take("app", 2) is not None  # the slot given back is free again
    await first.close()  # the worker holding three slots is gone
    await _until(lambda: hub.hub.active_slots("app") == 0)
    assert await second.take("app", 2) is not None
    await second.close()


async def test_conversation_turns_follow_arrival_order_across_workers(hub: Hub) -> None:
    links = [await hub.link(), await hub.link()]
    for link in links:
        await link.start()
    queues = [ConversationQueue(hub=link) for link in links]
    order: list[str] = []

    async def message(queue: ConversationQueue, name: str) -> None:
        with queue.place("c-1") as ticket:
            ticket.handed_to_task = True
        async with ticket:
            order.append(f"{name} begins")
            await asyncio.sleep(0.02)
            order.append(f"{name} ends")

    tasks = []
    for index, name in enumerate(["a", "b", "c", "d"]):
        tasks.append(asyncio.create_task(message(queues[index % 2], name)))
        await asyncio.sleep(0)  # arrival order a, b, c, d alternating between the workers
    await asyncio.gather(*tasks)
    assert order == [f"{n} {what}" for n in "abcd" for what in ("begins", "ends")]
    for link in links:
        await link.close()


async def test_a_dead_workers_turn_passes_to_the_next_at_once(hub: Hub) -> None:
    holder, waiter = await hub.link(), await hub.link()
    await holder.start()
    await waiter.start()
    holder_turn = holder.join("c-2", "t-holder")
    waiter_turn = waiter.join("c-2", "t-waiter")
    await asyncio.wait_for(holder_turn, 1)
    assert not waiter_turn.done()
    started = time.monotonic()
    await holder.close()  # the worker died during its turn
    await asyncio.wait_for(waiter_turn, 1)
    assert time.monotonic() - started < 0.2
    await waiter.close()


async def _slow_task(supervisor: TaskSupervisor, task_id: str) -> TaskHandle:
    with supervisor.admit("app") as slot:
        await supervisor.admit_globally(slot)
        handle = TaskHandle(task_id=task_id, streaming=True)

        async def work(stop: asyncio.Event) -> None:
            await asyncio.wait_for(stop.wait(), 30)
            await asyncio.sleep(0.05)  # recording how it ended

        return supervisor.spawn(slot, handle, end_user_id="alice", work=work, name=task_id)


async def test_supervisors_of_two_workers_stop_each_others_tasks_and_share_the_limit(hub: Hub) -> None:
    owner = TaskSupervisor(max_active_requests=1, hub=await hub.link())
    other = TaskSupervisor(max_active_requests=1, hub=await hub.link())
    await owner.start()
    await other.start()
    try:
        handle = await _slow_task(owner, "t-1")
        with pytest.raises(TooManyRequests), other.admit("app") as slot:
            await other.admit_globally(slot)  # the one slot is taken in the other worker
        started = time.monotonic()
        await other.request_stop("t-1", "app", "alice")
        took = time.monotonic() - started
        assert handle.task is not None and handle.task.done(), "stop answered before the task ended"
        assert took < 0.5
        await _until(lambda: hub.hub.active_slots("app") == 0)
        await _slow_task(other, "t-2")  # the slot came back
    finally:
        await owner.close()
        await other.close()


async def test_without_its_hub_a_worker_says_stops_cannot_reach_the_others(hub: Hub) -> None:
    link = await hub.link()
    supervisor = TaskSupervisor(hub=link)
    await supervisor.start()
    await hub.hub.close()  # the parent is gone
    await _until(lambda: not link.link.connected)
    with pytest.raises(BroadcastUnavailable):
        await link.publish("news", "x")
    with pytest.raises(CrossProcessStopUnavailable):
        await supervisor.request_stop("elsewhere", "app", "alice")
    await supervisor.close()


async def test_the_supervisors_broadcast_carries_other_notifications_between_workers(hub: Hub) -> None:
    listener, publisher = TaskSupervisor(hub=await hub.link()), TaskSupervisor(hub=await hub.link())
    heard: list[str] = []
    assert listener.broadcast is not None and publisher.broadcast is not None
    listener.broadcast.subscribe("kawa:run-events", heard.append)  # e.g. a stream re-attached in another worker
    await listener.start()
    await publisher.start()
    try:
        assert await publisher.broadcast.publish("kawa:run-events", "run-1") == 1
        await _until(lambda: heard == ["run-1"])
        assert TaskSupervisor().broadcast is None  # a lone process has no one to tell
    finally:
        await listener.close()
        await publisher.close()

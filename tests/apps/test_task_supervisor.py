"""The `TaskSupervisor` on its own: admission against the limit, slots, stop (here and through Redis), close."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from kawa.apps.runners.supervisor import TaskSupervisor
from kawa.apps.runners.task_handle import TaskHandle
from kawa.errors import TooManyRequests

REDIS_URL = "redis://127.0.0.1:6379/0"


async def wait_for_stop(stop: asyncio.Event) -> None:
    await stop.wait()


def spawn_waiting(supervisor: TaskSupervisor, app_id: str, end_user_id: str = "alice") -> TaskHandle:
    """A task that runs until it is stopped."""
    with supervisor.admit(app_id) as slot:
        handle = TaskHandle(task_id=str(uuid.uuid4()), streaming=False)
        return supervisor.spawn(slot, handle, end_user_id=end_user_id, work=wait_for_stop, name="waiting")


async def test_a_request_over_the_limit_is_too_many_requests() -> None:
    supervisor = TaskSupervisor(max_active_requests=1)
    spawn_waiting(supervisor, "app-1")

    with pytest.raises(TooManyRequests) as refused:
        spawn_waiting(supervisor, "app-1")

    assert refused.value.code == "too_many_requests"
    assert "for app-1 is 1." in refused.value.message
    spawn_waiting(supervisor, "app-2")  # the limit is per app
    await supervisor.close()


async def test_a_slot_is_taken_from_admission_on() -> None:
    supervisor = TaskSupervisor(max_active_requests=1)
    with supervisor.admit("app-1"):
        assert supervisor.running_count("app-1") == 1
        with pytest.raises(TooManyRequests):
            spawn_waiting(supervisor, "app-1")


async def test_a_request_that_fails_before_its_task_starts_gives_its_slot_back() -> None:
    supervisor = TaskSupervisor(max_active_requests=1)
    with pytest.raises(LookupError), supervisor.admit("app-1"):
        raise LookupError("no such conversation")

    assert supervisor.running_count("app-1") == 0
    spawn_waiting(supervisor, "app-1")
    await supervisor.close()


async def test_the_slot_is_free_once_the_task_has_ended() -> None:
    supervisor = TaskSupervisor(max_active_requests=1)
    handle = spawn_waiting(supervisor, "app-1")

    await supervisor.request_stop(handle.task_id, "app-1", "alice")
    await supervisor.wait_stopped(handle.task_id, timeout=1.0)

    assert handle.task is not None and handle.task.done()
    assert supervisor.running_count("app-1") == 0


async def test_a_stop_request_of_another_end_user_is_ignored() -> None:
    supervisor = TaskSupervisor()
    handle = spawn_waiting(supervisor, "app-1", end_user_id="alice")

    await supervisor.request_stop(handle.task_id, "app-1", "mallory")
    await asyncio.sleep(0.05)

    assert handle.task is not None and not handle.task.done()
    await supervisor.close()


async def test_close_cancels_every_task() -> None:
    supervisor = TaskSupervisor()
    handles = [spawn_waiting(supervisor, "app-1") for _ in range(3)]

    await supervisor.close()

    assert all(h.task is not None and h.task.cancelled() for h in handles)
    assert supervisor.running_count("app-1") == 0


async def test_a_stop_reaches_the_task_in_another_process_through_redis() -> None:
    owner, other = TaskSupervisor(redis_url=REDIS_URL), TaskSupervisor(redis_url=REDIS_URL)
    await owner.start()
    await other.start()
    try:
        handle = spawn_waiting(owner, "app-1")

        await other.request_stop(handle.task_id, "app-1", "alice")
        await owner.wait_stopped(handle.task_id, timeout=2.0)

        assert handle.task is not None and handle.task.done() and not handle.task.cancelled()
    finally:
        await owner.close()
        await other.close()

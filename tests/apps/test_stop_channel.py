"""The cross-process stop channel over a real (private) Redis: answers after the task ended, survives a Redis
restart, and a process may start while Redis is down and pick it up when it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from support.redis_server import REDIS_SERVER, PrivateRedis
from support.tcp_proxy import TcpProxy

from kawa.apps.runners.stop_channel import (
    DEAD_AFTER_SILENT_S,
    CrossProcessStopUnavailable,
    StopChannel,
    StopRequest,
)

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


class Owner:
    """What a process running task `task_id` does on a stop request: the task takes `ends_after` s to end."""

    def __init__(self, task_id: str, ends_after: float = 0.05) -> None:
        self.task_id = task_id
        self.ends_after = ends_after
        self.ended_at: float | None = None

    async def __call__(self, request: StopRequest) -> bool:
        if request.task_id != self.task_id:
            return False
        await asyncio.sleep(self.ends_after)
        self.ended_at = time.monotonic()
        return True


async def _declines(_: StopRequest) -> bool:
    return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def _open(url: str, on_request: Callable[[StopRequest], Awaitable[bool]]) -> StopChannel:
    channel = StopChannel(url, on_request)
    await channel.start()
    return channel


async def _until(condition: Callable[[], bool], within: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_stop_elsewhere_returns_after_the_owner_ended_the_task(redis_server: PrivateRedis) -> None:
    owner = Owner("t-1", ends_after=0.3)
    running, asking = await _open(redis_server.url, owner), await _open(redis_server.url, _declines)
    try:
        stopped = await asking.stop_elsewhere(StopRequest("t-1", "app", "user"), timeout=5)
        assert stopped is True
        assert owner.ended_at is not None and owner.ended_at <= time.monotonic()
    finally:
        await running.close()
        await asking.close()


async def test_a_task_no_process_runs_is_answered_at_once(redis_server: PrivateRedis) -> None:
    channels = [await _open(redis_server.url, _declines) for _ in range(3)]
    try:
        started = time.monotonic()
        assert await channels[0].stop_elsewhere(StopRequest("nobody", "app", "user"), timeout=5) is False
        assert time.monotonic() - started < 0.5, "waited for the timeout although every process said no"
    finally:
        for channel in channels:
            await channel.close()


async def test_stop_works_again_after_redis_restarts(redis_server: PrivateRedis) -> None:
    owner = Owner("t-2")
    running, asking = await _open(redis_server.url, owner), await _open(redis_server.url, _declines)
    try:
        # a stop before the restart leaves pooled connections that the restart breaks
        assert await asking.stop_elsewhere(StopRequest("t-2", "app", "user"), timeout=5) is True
        redis_server.stop()
        assert asking.link is not None and running.link is not None
        await _until(lambda: not asking.link.connected, within=5)  # type: ignore[union-attr]
        with pytest.raises(CrossProcessStopUnavailable):
            await asking.stop_elsewhere(StopRequest("t-2", "app", "user"), timeout=1)
        redis_server.start()
        took = await _until(lambda: running.link.connected and asking.link.connected, within=5)  # type: ignore[union-attr]
        assert await asking.stop_elsewhere(StopRequest("t-2", "app", "user"), timeout=5) is True
        assert owner.ended_at is not None
        assert asking.link.report().reconnects == 1
        print(f"\nstop channel reconnected {took * 1000:.0f} ms after Redis returned")
    finally:
        await running.close()
        await asking.close()


async def test_a_channel_started_while_redis_is_down_connects_when_it_comes_up(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)  # not started yet
    owner = Owner("t-3")
    started = time.monotonic()
    running, asking = await _open(server.url, owner), await _open(server.url, _declines)
    try:
        assert time.monotonic() - started < 5, "start waited too long for a Redis that is down"
        assert asking.link is not None and not asking.link.connected
        assert asking.link.report().down_for_s is not None
        server.start()
        await _until(lambda: running.link.connected and asking.link.connected, within=5)  # type: ignore[union-attr]
        assert await asking.stop_elsewhere(StopRequest("t-3", "app", "user"), timeout=5) is True
    finally:
        await running.close()
        await asking.close()
        server.stop()


async def test_an_idle_link_stays_up_past_the_socket_timeout(redis_server: PrivateRedis) -> None:
    owner = Owner("t-4")
    running, asking = await _open(redis_server.url, owner), await _open(redis_server.url, _declines)
    try:
        await asyncio.sleep(7)  # longer than the 5 s socket timeout and the 5 s idle ping
        assert running.link is not None and running.link.connected and running.link.reconnects == 0
        assert await asking.stop_elsewhere(StopRequest("t-4", "app", "user"), timeout=5) is True
    finally:
        await running.close()
        await asking.close()


async def test_a_silently_cut_link_is_noticed_and_recovered(redis_server: PrivateRedis) -> None:
    with TcpProxy("127.0.0.1", redis_server.port) as proxy:
        url = proxy.rewrite(redis_server.url)
        owner = Owner("t-5")
        running, asking = await _open(url, owner), await _open(url, _declines)
        try:
            proxy.cut(silent=True)  # no RST, no FIN: bytes just stop, as in a network partition
            took = await _until(lambda: not running.link.connected, within=DEAD_AFTER_SILENT_S + 5)  # type: ignore[union-attr]
            proxy.restore()
            await _until(lambda: running.link.connected and asking.link.connected, within=15)  # type: ignore[union-attr]
            assert await asking.stop_elsewhere(StopRequest("t-5", "app", "user"), timeout=5) is True
            print(f"\na silent link was reported lost after {took:.1f} s")
        finally:
            await running.close()
            await asking.close()

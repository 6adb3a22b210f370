"""`SharedActiveRequests`: an app's concurrent-request slots counted across every kawa process, in Redis.

Each app has a sorted set of slots scored by their expiry (Redis server time, so process clocks do not matter). One
Lua script drops expired slots, counts, and takes a slot only when one is free, so concurrent requests of many
processes can never exceed the limit. Each process renews the expiry of the slots it holds every `lease_s / 3`;
the slots of a process that was killed expire after `lease_s` and free themselves.

The `TaskSupervisor` asks here after its own (synchronous, exact in-process) count. If Redis fails, admission falls
back to that per-process count (logged), so a Redis outage degrades the limit instead of refusing every request.
Without Redis, the workers of one `kawa serve --workers N` count their slots in their parent's hub (`SharedSlots`
is what both offer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("kawa.tasks")

LEASE_S = 15.0
"""How long a slot outlives the process that took it."""

_SLOTS_KEY = "kawa:active-requests:{}"

# KEYS[1] the app's slots; ARGV[1] limit, ARGV[2] lease in ms, ARGV[3] slot id. 1: taken, 0: all slots taken.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

# KEYS: the apps' slot sets; ARGV[1] lease in ms, then one slot id per key. Pushes each held slot's expiry forward.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', key, tonumber(ARGV[1]))
end
return 0
"""


class SharedSlots(Protocol):
    """An app's slots counted across processes: Redis (`SharedActiveRequests`) or the worker hub."""

    async def take(self, app_id: str, limit: int) -> str | None:
        """A slot id when a slot was free and is now taken; None when all are. Raises `RedisError` or `OSError`
        when the count cannot be asked (the caller degrades to its own count)."""
        ...

    async def give_back(self, slot_id: str) -> None: ...


class SharedActiveRequests:
    """Take and give back slots of an app's limit, shared by all processes on one Redis."""

    def __init__(self, redis_url: str, *, lease_s: float = LEASE_S) -> None:
        self._redis_url = redis_url
        self._lease_ms = int(lease_s * 1000)
        self._redis: redis.Redis | None = None
        self._held: dict[str, str] = {}  # slot id -> app id
        self._renewal: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._redis = redis.from_url(self._redis_url)
        self._renewal = asyncio.create_task(self._renew(), name="kawa-active-requests-renewal")

    async def close(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
        for slot_id in list(self._held):
            await self.give_back(slot_id)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def take(self, app_id: str, limit: int) -> str | None:
        """A slot id when one of the app's `limit` slots was free and is now taken; None when all are taken.

        Raises `RedisError` when Redis cannot be asked (the caller decides how to degrade).
        """
        if self._redis is None:
            raise RedisError("not started")
        slot_id = uuid.uuid4().hex
        self._held[slot_id] = app_id  # renewed from now on, so a slow answer cannot let the slot lapse
        try:
            taken = await self._redis.eval(_TAKE, 1, _SLOTS_KEY.format(app_id), limit, self._lease_ms, slot_id)
        except BaseException:
            self._held.pop(slot_id, None)
            raise
        if taken != 1:
            self._held.pop(slot_id, None)
            return None
        return slot_id

    async def give_back(self, slot_id: str) -> None:
        app_id = self._held.pop(slot_id, None)
        if app_id is None or self._redis is None:
            return
        try:
            await self._redis.zrem(_SLOTS_KEY.format(app_id), slot_id)
        except RedisError:
            log.warning(
                "could not give back a slot of app %s: it frees itself in %.0f s", app_id, self._lease_ms / 1000
            )

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            held = list(self._held.items())
            if not held or self._redis is None:
                continue
            keys = [_SLOTS_KEY.format(app_id) for _, app_id in held]
            try:
                await self._redis.eval(_RENEW, len(keys), *keys, self._lease_ms, *[slot for slot, _ in held])
            except RedisError:
                log.warning("could not renew %d active-request slot(s) in Redis", len(held))

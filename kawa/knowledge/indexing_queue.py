"""Where indexing jobs (document ids) wait: an in-process `asyncio.Queue`, or a Redis list any kawa process takes from.

The Redis queue survives Redis coming and going: a job that cannot be pushed is kept and pushed when Redis is back
(the document stays `waiting` meanwhile), and a worker whose BLPOP fails waits with backoff and tries again, so
indexing resumes by itself. Its socket timeout is longer than the BLPOP timeout: an idle queue is not an error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from redis.exceptions import RedisError

from kawa.net.reconnect import Backoff, LinkState, redis_client

log = logging.getLogger("kawa.knowledge")
REDIS_QUEUE_KEY = "kawa:knowledge:indexing"
BLPOP_TIMEOUT_S = 2
SOCKET_TIMEOUT_S = BLPOP_TIMEOUT_S + 5


class IndexingQueue(Protocol):
    @property
    def link(self) -> LinkState | None:
        """The queue's link to Redis (None for the in-process queue)."""
        ...

    async def put(self, document_id: str) -> None: ...
    async def get(self) -> str: ...
    async def close(self) -> None: ...


class InProcessQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    @property
    def link(self) -> LinkState | None:
        return None

    async def put(self, document_id: str) -> None:
        self._queue.put_nowait(document_id)

    async def get(self) -> str:
        return await self._queue.get()

    async def close(self) -> None:
        pass


class RedisQueue:
    """A Redis list shared by every kawa process; BLPOP hands each job to one worker."""

    def __init__(self, url: str) -> None:
        # Any: redis-py types every command as `Awaitable[T] | T` (one class for sync and async clients).
        self._redis: Any = redis_client(url, socket_timeout=SOCKET_TIMEOUT_S)
        self._unsent: dict[str, None] = {}  # ordered set: jobs to push once Redis is back
        self._link = LinkState("redis")

    @property
    def link(self) -> LinkState | None:
        return self._link

    async def put(self, document_id: str) -> None:
        self._unsent[document_id] = None
        try:
            await self._push_unsent()
        except (RedisError, OSError) as exc:
            self._lost(exc)
            log.warning("indexing of document %s waits until Redis is back", document_id)
        else:
            self._link.mark_up()

    async def get(self) -> str:
        backoff = Backoff()
        while True:
            try:
                if not self._link.connected:
                    await self._redis.ping()  # report the link up now, not after an idle BLPOP's timeout
                    if self._link.mark_up() and self._link.reconnects:
                        log.warning("Redis is back: indexing resumed")
                await self._push_unsent()
                item = await self._redis.blpop([REDIS_QUEUE_KEY], timeout=BLPOP_TIMEOUT_S)
            except (RedisError, OSError) as exc:
                self._lost(exc)
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            if item is not None:
                return bytes(item[1]).decode()

    async def _push_unsent(self) -> None:
        while self._unsent:
            document_id = next(iter(self._unsent))
            await self._redis.rpush(REDIS_QUEUE_KEY, document_id)
            self._unsent.pop(document_id, None)

    def _lost(self, exc: BaseException) -> None:
        if self._link.mark_down():
            log.warning("lost Redis (%s): indexing waits until it returns", type(exc).__name__)

    async def close(self) -> None:
        await self._redis.aclose()

"""`Broadcast`: named channels every kawa process (or worker) hears, the transport under cross-process stop.

Two implementations: `RedisBroadcast` (Redis pub/sub: processes on any host) and `WorkerHubLink` (the parent of
`kawa serve --workers N`: the workers of one host, no Redis). A message published on a channel reaches every
subscriber of it, the publisher's own subscriptions included, and `publish` says how many links heard it, so a
requester knows how many answers to wait for. Subscribe before `start()`.

Redis may come and go: the listener reconnects with backoff and resumes; while it is away `link` says so and
`publish` raises `BroadcastUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

from kawa.net.reconnect import Backoff, LinkState, redis_client

log = logging.getLogger("kawa.tasks")
START_WAIT_S = 5.0
"""How long `start()` waits for the first connection before the process starts degraded."""
PING_AFTER_IDLE_S = 5.0
DEAD_AFTER_SILENT_S = 10.0
"""A pub/sub link that has not answered a ping for this long is treated as lost (a silently cut connection)."""

OnMessage = Callable[[str], None]


class BroadcastUnavailable(Exception):
    """The message could not be published: the link to the other processes is down."""


class Broadcast(Protocol):
    """Publish to, and hear, named channels shared by every process of a deployment."""

    @property
    def link(self) -> LinkState:
        """Whether the link to the other processes is up (health reports read it)."""
        ...

    def subscribe(self, channel: str, on_message: OnMessage) -> None:
        """Hand every message of `channel` to `on_message` (call before `start`)."""
        ...

    async def publish(self, channel: str, message: str) -> int:
        """Send `message` to every subscriber of `channel`; returns how many links heard it."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class RedisBroadcast:
    """`Broadcast` over Redis pub/sub, reconnecting with backoff."""

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._subscribers: dict[str, list[OnMessage]] = {}
        self._redis: redis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self.link = LinkState("redis")

    def subscribe(self, channel: str, on_message: OnMessage) -> None:
        self._subscribers.setdefault(channel, []).append(on_message)

    async def start(self) -> None:
        """Begin listening. Waits for the first connection at most `START_WAIT_S`; without it, starts degraded and
        keeps trying in the background."""
        self._redis = redis_client(self._redis_url)
        self._listener = asyncio.create_task(self._listen(self._redis), name="kawa-redis-broadcast")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), timeout=START_WAIT_S)
        if not self.link.connected:
            log.warning("Redis is unreachable: starting without cross-process stop; retrying in the background")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, channel: str, message: str) -> int:
        if self._redis is None or not self.link.connected:
            raise BroadcastUnavailable()
        try:
            return int(await self._redis.publish(channel, message))
        except (RedisError, OSError) as exc:
            raise BroadcastUnavailable() from exc

    async def _listen(self, client: redis.Redis) -> None:
        backoff = Backoff()
        while True:
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(*self._subscribers)
                if self.link.mark_up() and self.link.reconnects:
                    log.warning("Redis is back: cross-process stop resumed")
                backoff.reset()
                self._first_attempt.set()
                await self._receive(pubsub)
            except (RedisError, OSError) as exc:
                if self.link.mark_down():
                    log.warning("lost Redis (%s): cross-process stop is off until it returns", type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose untyped
            self._first_attempt.set()
            await asyncio.sleep(backoff.next())

    async def _receive(self, pubsub: redis.client.PubSub) -> None:
        """Handle messages until the link fails; a silent link is pinged, and one that stays silent is lost."""
        heard = time.monotonic()
        pinged = False
        while True:
            message: dict[str, Any] | None = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            now = time.monotonic()
            if message is not None:
                heard, pinged = now, False
                self._dispatch(message)
            elif now - heard > DEAD_AFTER_SILENT_S:
                raise ConnectionError("Redis did not answer a ping")
            elif now - heard > PING_AFTER_IDLE_S and not pinged:
                await pubsub.ping()
                pinged = True

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        data = message.get("data")
        text = data.decode() if isinstance(data, bytes) else str(data)
        for on_message in self._subscribers.get(name, []):
            on_message(text)

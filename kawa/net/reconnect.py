"""Links to a service that may come and go (Redis): a client that survives a restart (`redis_client`), a jittered
exponential backoff for reconnecting, and the link's state (`LinkState`) that health reports read.

Users of a link (the cross-process stop channel, the shared indexing queue) keep one `LinkState` each, mark it up or
down as their calls succeed or fail, and sleep `Backoff.next()` between attempts, so a returning service is found
again within the backoff's cap without hammering it while it is away.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 1.0


def redis_client(url: str, *, socket_timeout: float = 5.0) -> redis.Redis:
    """An asyncio Redis client that fails fast (2 s) to connect while Redis is away, and replaces a pooled
    connection that a Redis restart broke on its next use (a failed send is retried on a new connection) instead of
    failing that call."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        retry_on_error=[RedisConnectionError],
    )


class Backoff:
    """Delays of 0.1, 0.2, 0.4 ... up to `cap` (1 s) seconds, each with ±20 % jitter; `reset()` after a success."""

    def __init__(self, first: float = FIRST_DELAY_S, cap: float = MAX_DELAY_S) -> None:
        self.first = first
        self.cap = cap
        self._attempt = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2.0**self._attempt)
        self._attempt = min(self._attempt + 1, 32)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._attempt = 0


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What a health endpoint says about one link (no hosts, ports or error text: the body is public)."""

    name: str
    connected: bool
    down_for_s: float | None
    reconnects: int


class LinkState:
    """Whether a link is up now, since when it is down, and how often it came back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connected = False
        self.reconnects = 0
        self._down_since: float | None = time.monotonic()
        self._ever_up = False

    def mark_up(self) -> bool:
        """Record a working link; True when it was down before (a reconnection, or the first connection)."""
        if self.connected:
            return False
        self.connected = True
        self._down_since = None
        if self._ever_up:
            self.reconnects += 1
        self._ever_up = True
        return True

    def mark_down(self) -> bool:
        """Record a failed link; True when it was up before (the moment it was lost)."""
        if not self.connected:
            return False
        self.connected = False
        self._down_since = time.monotonic()
        return True

    def report(self) -> LinkReport:
        down_for = None if self._down_since is None else round(time.monotonic() - self._down_since, 3)
        return LinkReport(name=self.name, connected=self.connected, down_for_s=down_for, reconnects=self.reconnects)

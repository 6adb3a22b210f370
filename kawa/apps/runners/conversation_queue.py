"""`ConversationQueue`: the messages of one conversation take turns, in the order they arrived, on one process or many.

A message takes its place in its conversation's queue when it arrives (`place`, before any await, so arrival order
is kept) and runs once it is at the head (`async with ticket:`, or `wait_turn` ... `release`): it then sees every
earlier turn in its history.

Why these locks: with Redis configured (the multi-process deployment), the queue is a Redis list of tickets. Each
ticket has a lease key its process renews while the message waits or runs; a ticket whose lease lapsed (its process
was killed) is dropped when it reaches the head, so a dead holder blocks the conversation for one lease at most. A
PostgreSQL advisory lock was the other candidate: it frees itself when its session dies, but it pins a pooled
connection for the whole turn (minutes of model streaming) per busy conversation — pool exhaustion is how kawa
fell over under load — and polling try-locks are not first-come-first-served. Without Redis, the workers of one
`kawa serve --workers N` queue their tickets in their parent's hub (`SharedTurns`), which tells a worker when its
ticket is at the head and drops the tickets of a worker that died at once; alone, an in-process FIFO does the job.
If Redis or the hub fails mid-way, a message falls back to the in-process order (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("kawa.chat")

LEASE_S = 10.0
"""How long a ticket outlives its process: a conversation whose holder was killed waits at most this long."""
POLL_S = 0.02
"""How often a waiting message checks whether its turn has come (Redis queues only)."""

_QUEUE_KEY = "kawa:conversation-queue:{}"
_TICKET_KEY = "kawa:conversation-ticket:{}"

# KEYS[1] queue; ARGV[1] this ticket; ARGV[2] the ticket key prefix. Drops dead tickets at the head. 1: this ticket
# is the head; 0: it is not yet; -1: its own lease lapsed (its place is lost: queue again).
_IS_HEAD = """
if redis.call('EXISTS', ARGV[2] .. ARGV[1]) == 0 then return -1 end
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then return -1 end
  if head == ARGV[1] then return 1 end
  if redis.call('EXISTS', ARGV[2] .. head) == 1 then return 0 end
  redis.call('LREM', KEYS[1], 1, head)
end
"""


class SharedTurns(Protocol):
    """Conversation queues shared by the workers of one host (the worker hub)."""

    def join(self, conversation_id: str, ticket_id: str) -> asyncio.Future[None]:
        """Queue the ticket now; the future is done at its turn (an `OSError` when the queue is gone)."""
        ...

    def leave(self, conversation_id: str, ticket_id: str) -> None: ...


@dataclass(eq=False)
class QueueTicket:
    """One message's place in its conversation's queue (none yet for a message without a conversation)."""

    _queue: ConversationQueue
    conversation_id: str | None = None
    handed_to_task: bool = False  # the message's task waits for its turn and releases it
    ticket_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _turn: asyncio.Event = field(default_factory=asyncio.Event)
    _joined: asyncio.Task[bool] | None = None  # the Redis enqueue; False when it failed (in-process order then)
    _hub_turn: asyncio.Future[None] | None = None  # done when the worker hub says it is this ticket's turn
    _renewal: asyncio.Task[None] | None = None
    _released: bool = False

    def join(self, conversation_id: str) -> None:
        """Take the place now (no await: the order of joins is the order of turns in this process)."""
        if self.conversation_id is None:
            self.conversation_id = conversation_id
            self._queue.join(self)

    async def wait_turn(self) -> None:
        """Return once every message that arrived earlier in this conversation has finished."""
        if self.conversation_id is not None:
            await self._queue.wait_turn(self)

    async def release(self) -> None:
        """Leave the queue (idempotent): the next message's turn begins."""
        if not self._released and self.conversation_id is not None:
            self._released = True
            await self._queue.release(self)

    async def __aenter__(self) -> QueueTicket:
        await self.wait_turn()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class ConversationQueue:
    def __init__(
        self,
        redis_url: str | None = None,
        *,
        hub: SharedTurns | None = None,
        lease_s: float = LEASE_S,
        poll_s: float = POLL_S,
    ) -> None:
        self._redis_url = redis_url
        self._hub = None if redis_url else hub
        self._redis: redis.Redis | None = None
        self._lease_ms = int(lease_s * 1000)
        self._poll_s = poll_s
        self._local: dict[str, deque[QueueTicket]] = {}
        self._enqueue_order = asyncio.Lock()  # Redis pushes of this process leave in arrival order
        self._cleanups: set[asyncio.Task[None]] = set()
        self._handed_over: dict[str, asyncio.Event] = {}  # set when a turn of this process ends: re-check at once

    async def start(self) -> None:
        if self._redis_url:
            self._redis = redis.from_url(self._redis_url)

    async def close(self) -> None:
        await asyncio.gather(*self._cleanups, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    @contextmanager
    def place(self, conversation_id: str | None) -> Iterator[QueueTicket]:
        """A ticket for the block, in the queue of `conversation_id` if given (else `ticket.join` it later).

        Unless the block hands it to the message's task (`handed_to_task`), the ticket leaves the queue on exit.
        """
        ticket = QueueTicket(self)
        if conversation_id:
            ticket.join(conversation_id)
        try:
            yield ticket
        finally:
            if not ticket.handed_to_task:
                cleanup = asyncio.create_task(ticket.release())
                self._cleanups.add(cleanup)
                cleanup.add_done_callback(self._cleanups.discard)

    def join(self, ticket: QueueTicket) -> None:
        assert ticket.conversation_id is not None
        waiting = self._local.setdefault(ticket.conversation_id, deque())
        waiting.append(ticket)
        if len(waiting) == 1:
            ticket._turn.set()
        if self._hub is not None:
            try:
                ticket._hub_turn = self._hub.join(ticket.conversation_id, ticket.ticket_id)
            except OSError:
                log.warning("conversation %s: worker hub gone, ordering in this process only", ticket.conversation_id)
        if self._redis is not None:
            ticket._joined = asyncio.create_task(self._enqueue(self._redis, ticket))

    async def _enqueue(self, client: redis.Redis, ticket: QueueTicket) -> bool:
        async with self._enqueue_order:
            try:
                queue = _QUEUE_KEY.format(ticket.conversation_id)
                async with client.pipeline(transaction=True) as pipe:
                    pipe.set(_TICKET_KEY.format(ticket.ticket_id), "1", px=self._lease_ms)
                    pipe.lrem(queue, 0, ticket.ticket_id)  # a ticket queued again after its lease lapsed
                    pipe.rpush(queue, ticket.ticket_id)
                    await pipe.execute()
            except RedisError:
                log.warning("conversation %s: Redis unavailable, ordering in this process only", ticket.conversation_id)
                return False
        if ticket._renewal is None:
            ticket._renewal = asyncio.create_task(self._renew(client, ticket))
        return True

    async def _renew(self, client: redis.Redis, ticket: QueueTicket) -> None:
        key = _TICKET_KEY.format(ticket.ticket_id)
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            with contextlib.suppress(RedisError):
                await client.pexpire(key, self._lease_ms)

    async def wait_turn(self, ticket: QueueTicket) -> None:
        assert ticket.conversation_id is not None
        if ticket._hub_turn is not None:
            try:
                await asyncio.shield(ticket._hub_turn)
                return
            except OSError:
                log.warning("conversation %s: worker hub gone, ordering in this process only", ticket.conversation_id)
        if ticket._joined is None or not await ticket._joined or self._redis is None:
            await ticket._turn.wait()
            return
        queue, script = _QUEUE_KEY.format(ticket.conversation_id), self._redis.register_script(_IS_HEAD)
        prefix = _TICKET_KEY.format("")
        log_lapse = True
        while True:
            try:
                head = await script(keys=[queue], args=[ticket.ticket_id, prefix])
            except RedisError:
                log.warning("conversation %s: Redis unavailable, ordering in this process only", ticket.conversation_id)
                await ticket._turn.wait()
                return
            if head == 1:
                return
            if head == -1:  # this process could not renew the lease for a whole lease: queue again, at the end
                if log_lapse:
                    log.warning("conversation %s: a message lost its place in the queue", ticket.conversation_id)
                    log_lapse = False
                await self._enqueue(self._redis, ticket)
            # Another process's turn ending is seen by polling; one of this process is signalled at once.
            handed_over = self._handed_over.setdefault(ticket.conversation_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(handed_over.wait(), self._poll_s)

    async def release(self, ticket: QueueTicket) -> None:
        assert ticket.conversation_id is not None
        waiting = self._local.get(ticket.conversation_id)
        if waiting is not None:
            with contextlib.suppress(ValueError):
                waiting.remove(ticket)
            if waiting:
                waiting[0]._turn.set()
            else:
                del self._local[ticket.conversation_id]
        if ticket._hub_turn is not None and self._hub is not None:
            self._hub.leave(ticket.conversation_id, ticket.ticket_id)
        if ticket._joined is None:
            return
        if not ticket._joined.done():
            ticket._joined.cancel()
        if ticket._renewal is not None:
            ticket._renewal.cancel()
        if self._redis is not None:
            with contextlib.suppress(RedisError):
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.lrem(_QUEUE_KEY.format(ticket.conversation_id), 1, ticket.ticket_id)
                    pipe.delete(_TICKET_KEY.format(ticket.ticket_id))
                    await pipe.execute()
        if (handed_over := self._handed_over.pop(ticket.conversation_id, None)) is not None:
            handed_over.set()

"""`WorkerHubLink`: a worker's connection to the `WorkerHub` of its `kawa serve --workers N` parent.

It is a `Broadcast` (stop requests between workers; any other notification between the workers of one host, e.g.
"new events for run X", can use it the same way) and it takes and gives back active-request slots and conversation
turns counted across the workers. The link is one socket the parent handed over (`from_fd`); when it closes the
parent is gone, the link is down, and the worker falls back to what it can do alone (its own count, its own order).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import uuid
from collections.abc import Callable

from kawa.apps.runners.broadcast import BroadcastUnavailable, OnMessage
from kawa.apps.runners.worker_hub import HubMessage, encode
from kawa.net.reconnect import LinkState

log = logging.getLogger("kawa.hub")
REPLY_TIMEOUT_S = 5.0


class WorkerHubLink:
    """One worker's side of the hub: `Broadcast`, shared slots and shared conversation turns."""

    def __init__(self, connect: Callable[[], socket.socket]) -> None:
        self._connect = connect
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._subscribers: dict[str, list[OnMessage]] = {}
        self._replies: dict[int, asyncio.Future[int]] = {}
        self._ids = itertools.count(1)
        self._turns: dict[str, asyncio.Future[None]] = {}
        self.link = LinkState("worker hub")

    @classmethod
    def from_fd(cls, fd: int) -> WorkerHubLink:
        """The link over a socket inherited from the parent as file descriptor `fd`."""
        return cls(lambda: socket.socket(fileno=fd))

    def subscribe(self, channel: str, on_message: OnMessage) -> None:
        self._subscribers.setdefault(channel, []).append(on_message)
        if self._writer is not None:
            self._send({"op": "subscribe", "channel": channel})

    async def start(self) -> None:
        if self._writer is not None:
            return
        self._reader, self._writer = await asyncio.open_unix_connection(sock=self._connect())
        self.link.mark_up()
        for channel in self._subscribers:
            self._send({"op": "subscribe", "channel": channel})
        self._receiver = asyncio.create_task(self._receive(self._reader), name="kawa-hub-link")

    async def close(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self.link.mark_down()

    async def publish(self, channel: str, message: str) -> int:
        try:
            return await self._ask({"op": "publish", "channel": channel, "data": message})
        except ConnectionError as exc:
            raise BroadcastUnavailable() from exc

    async def take(self, app_id: str, limit: int) -> str | None:
        """A slot id when one of the app's `limit` slots (counted across the workers) was free; None when all are
        taken. Raises `ConnectionError` when the hub is gone."""
        slot_id = uuid.uuid4().hex
        taken = await self._ask({"op": "take", "app": app_id, "limit": limit, "slot": slot_id})
        return slot_id if taken else None

    async def give_back(self, slot_id: str) -> None:
        with contextlib.suppress(ConnectionError):
            self._send({"op": "give", "slot": slot_id})

    def join(self, conversation_id: str, ticket_id: str) -> asyncio.Future[None]:
        """Queue `ticket_id` in the conversation (no await: arrival order is kept); the future is done at its turn.

        Raises `ConnectionError` when the hub is gone."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        turn.add_done_callback(_retrieve)  # a turn nobody waits for any more must not log "never retrieved"
        self._send({"op": "join", "conversation": conversation_id, "ticket": ticket_id})
        self._turns[ticket_id] = turn
        return turn

    def leave(self, conversation_id: str, ticket_id: str) -> None:
        """Leave the conversation's queue (its next ticket's turn begins)."""
        if (turn := self._turns.pop(ticket_id, None)) is not None:
            turn.cancel()
        with contextlib.suppress(ConnectionError):
            self._send({"op": "leave", "conversation": conversation_id, "ticket": ticket_id})

    def _send(self, message: HubMessage) -> None:
        if self._writer is None or self._writer.is_closing() or not self.link.connected:
            raise ConnectionError("the worker hub is gone")
        self._writer.write(encode(message))

    async def _ask(self, message: HubMessage) -> int:
        request_id = next(self._ids)
        reply: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        try:
            self._send({**message, "id": request_id})
            return await asyncio.wait_for(reply, REPLY_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectionError("the worker hub did not answer") from exc
        finally:
            self._replies.pop(request_id, None)

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._dispatch(json.loads(line))
        except ConnectionError:
            pass
        if self.link.mark_down():
            log.warning("lost the worker hub (the parent process is gone): this worker now works alone")
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(ConnectionError("the worker hub is gone"))
        for turn in self._turns.values():
            if not turn.done():
                turn.set_exception(ConnectionError("the worker hub is gone"))

    def _dispatch(self, message: HubMessage) -> None:
        op = message["op"]
        if op == "reply":
            reply = self._replies.get(int(message["id"]))
            if reply is not None and not reply.done():
                reply.set_result(int(message["value"]))
        elif op == "message":
            for on_message in self._subscribers.get(str(message["channel"]), []):
                on_message(str(message["data"]))
        elif op == "turn":
            turn = self._turns.get(str(message["ticket"]))
            if turn is not None and not turn.done():
                turn.set_result(None)


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()

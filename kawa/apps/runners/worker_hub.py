"""`WorkerHub`: what the workers of one `kawa serve --workers N` share without Redis, kept by their parent process.

Each worker holds one stream connection to the hub (a socketpair the parent made before starting it) and speaks
newline-delimited JSON (`HubMessage`s). The hub keeps three things, all owned by a connection:

- **broadcast** channels (`Broadcast`): stop requests and their answers reach every worker in well under a
  millisecond; `publish` answers how many workers heard it.
- **active-request slots** per app: one count for all workers, exact because the hub is one event loop.
- **conversation turns**: a FIFO of tickets per conversation; the hub tells a worker when its ticket reaches the head
  (pushed, not polled).

Why a hub in the parent, and not the SQLite database or file locks: a stop must reach the worker running the run
within 100 ms, and polling the database that often from every worker adds writes to the one SQLite writer that
every run already waits for; flock gives no FIFO and no messages. The parent exists anyway (it binds the port and
restarts workers), and a connection is the lease: when a worker dies its connection closes and its slots and
tickets are freed at once, not after a lease lapses. Across hosts, Redis does the same jobs (it is used whenever
`KAWA_REDIS_URL` is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kawa.hub")

HubMessage = dict[str, Any]
"""One line of the hub protocol: `op` names it (publish, subscribe, take, give, join, leave; the hub sends reply,
message and turn); `id` pairs a request with its reply."""


def encode(message: HubMessage) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


@dataclass(eq=False)
class _Member:
    """One worker's connection and what it holds."""

    writer: asyncio.StreamWriter
    channels: set[str] = field(default_factory=set)
    slots: dict[str, str] = field(default_factory=dict)  # slot id -> app id
    tickets: dict[str, str] = field(default_factory=dict)  # ticket id -> conversation id

    def send(self, message: HubMessage) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(message))


class WorkerHub:
    """The hub's state and its connection handler; `serve(reader, writer)` runs one worker's connection."""

    def __init__(self) -> None:
        self._members: set[_Member] = set()
        self._slots: Counter[str] = Counter()
        self._turns: dict[str, deque[tuple[str, _Member]]] = {}
        self._connections: set[asyncio.Task[None]] = set()

    def attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve a worker's connection in the background until it closes."""
        task = asyncio.create_task(self.serve(reader, writer), name="kawa-hub-connection")
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def close(self) -> None:
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        member = _Member(writer)
        self._members.add(member)
        try:
            while line := await reader.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    log.warning("worker hub: a line that is not JSON was ignored")
                    continue
                if isinstance(message, dict):
                    self.handle(member, message)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._leave(member)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def handle(self, member: _Member, message: HubMessage) -> None:
        op = message.get("op")
        if op == "subscribe":
            member.channels.add(str(message["channel"]))
        elif op == "publish":
            channel = str(message["channel"])
            heard = [m for m in self._members if channel in m.channels]
            member.send({"op": "reply", "id": message["id"], "value": len(heard)})
            for listener in heard:
                listener.send({"op": "message", "channel": channel, "data": message["data"]})
        elif op == "take":
            app_id, limit = str(message["app"]), int(message["limit"])
            taken = self._slots[app_id] < limit
            if taken:
                self._slots[app_id] += 1
                member.slots[str(message["slot"])] = app_id
            member.send({"op": "reply", "id": message["id"], "value": int(taken)})
        elif op == "give":
            slot_id = str(message["slot"])
            if slot_id in member.slots:
                self._give(member.slots.pop(slot_id))
        elif op == "join":
            conversation_id, ticket = str(message["conversation"]), str(message["ticket"])
            member.tickets[ticket] = conversation_id
            queue = self._turns.setdefault(conversation_id, deque())
            queue.append((ticket, member))
            if len(queue) == 1:
                member.send({"op": "turn", "ticket": ticket})
        elif op == "leave":
            ticket = str(message["ticket"])
            if ticket in member.tickets:
                self._drop_ticket(member.tickets.pop(ticket), ticket)

    def _give(self, app_id: str) -> None:
        self._slots[app_id] -= 1
        if self._slots[app_id] <= 0:
            del self._slots[app_id]

    def _drop_ticket(self, conversation_id: str, ticket: str) -> None:
        queue = self._turns.get(conversation_id)
        if queue is None:
            return
        was_head = bool(queue) and queue[0][0] == ticket
        for entry in list(queue):
            if entry[0] == ticket:
                queue.remove(entry)
        if not queue:
            del self._turns[conversation_id]
        elif was_head:
            head, owner = queue[0]
            owner.send({"op": "turn", "ticket": head})

    def _leave(self, member: _Member) -> None:
        """A worker's connection closed (it exited or died): everything it held is freed now."""
        self._members.discard(member)
        for app_id in member.slots.values():
            self._give(app_id)
        member.slots.clear()
        for ticket, conversation_id in list(member.tickets.items()):
            self._drop_ticket(conversation_id, ticket)
        member.tickets.clear()

    def active_slots(self, app_id: str) -> int:
        """Slots of the app taken across all workers (tests read it)."""
        return self._slots[app_id]

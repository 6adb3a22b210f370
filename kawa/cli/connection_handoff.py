"""Accepted connections handed from the parent of `kawa serve --workers N` to its workers, over a socketpair.

The parent alone listens on the port and accepts; it passes each accepted socket to the next ready worker
(round robin) as a file descriptor (SCM_RIGHTS) on a SOCK_SEQPACKET pair, one message per connection, and the worker
serves it as if it had accepted it. Why not let the workers accept on a shared socket or with SO_REUSEPORT: both let
the kernel choose, and with keep-alive clients that connect in a burst one worker often gets most of the connections
for their whole life (a shared socket wakes every worker and the first drains the accept queue; SO_REUSEPORT hashes
the 4-tuple), so two workers did not give two workers' throughput. Handing off costs the parent one accept and one
sendmsg per connection, not per request.

The pair's first message is `GO`: the worker imports the server stack while the parent brings the database schema
up to date, and opens the database only after it. The worker's one message the other way is `READY`, once it
serves. A pair that reads end of file means the other side is gone.
"""

from __future__ import annotations

import socket

HANDOFF_FD = "KAWA_WORKER_HANDOFF_FD"
"""The environment variables through which the parent tells a worker its inherited sockets and its place."""
HUB_FD = "KAWA_WORKER_HUB_FD"
INDEX = "KAWA_WORKER_INDEX"
FIRST_START = "KAWA_WORKER_FIRST_START"
GO = b"go"
READY = b"ready"
CONNECTION = b"c"
MAX_FDS_PER_MESSAGE = 1


def handoff_pair() -> tuple[socket.socket, socket.socket]:
    """(parent end, worker end): the worker end is inherited by the worker process, the parent end kept."""
    parent, worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent.setblocking(False)
    worker.set_inheritable(True)
    return parent, worker


def wait_for_go(channel: socket.socket) -> bool:
    """In the worker, before it opens the database: block until the parent says the schema is current (True), or
    is gone (False)."""
    try:
        return channel.recv(16) == GO
    except OSError:
        return False


def hand_over(channel: socket.socket, connection: socket.socket) -> bool:
    """Pass `connection` to the worker at the other end of `channel`; False when that worker cannot take it now
    (gone, or its queue is full). The caller closes its own copy of the connection either way."""
    try:
        socket.send_fds(channel, [CONNECTION], [connection.fileno()])
    except (BlockingIOError, BrokenPipeError, ConnectionResetError, OSError):
        return False
    return True


def receive(channel: socket.socket) -> tuple[list[socket.socket], bool]:
    """The connections waiting on `channel` (non-blocking), and whether the parent is still there."""
    connections: list[socket.socket] = []
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 16, MAX_FDS_PER_MESSAGE)
        except BlockingIOError:
            return connections, True
        except OSError:
            return connections, False
        if not message and not fds:
            return connections, False
        for fd in fds:
            connection = socket.socket(fileno=fd)
            connection.setblocking(False)
            connections.append(connection)

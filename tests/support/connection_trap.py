"""`connection_trap()`: a loopback listener that only counts the connections it gets.

SSRF tests point a refused destination at it: a policy that refuses before connecting leaves the count at zero.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def connection_trap() -> Iterator[tuple[int, list[int]]]:
    """Yield (port, accepted): `accepted` gets one entry per connection the listener took."""
    accepted: list[int] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            accepted.append(1)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        server.close()

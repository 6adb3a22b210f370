"""The in-sandbox end of the egress path: relays loopback TCP inside a worker's network namespace to the unix
socket of kawa's egress proxy.

Stdlib only; imported by `worker_main.py` as a top-level module. A python3 worker with its own network namespace
has nothing but `lo`; it brings `lo` up, listens on `127.0.0.1:<proxy port>` there, and forks this bridge, which
passes each accepted connection's bytes to and from the proxy's unix socket (bind-mounted, read-only, into the
worker's empty root). So code nodes use `HTTP(S)_PROXY=http://127.0.0.1:<port>` exactly as they would without
namespaces, the proxy decides every destination, and no other address exists in the namespace. The bridge runs
no user code; it is confined like its worker (namespaces, empty root, own uid) and Landlock leaves it no file.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

MAX_CONNECTIONS = 64
CHUNK = 65536


def listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(MAX_CONNECTIONS)
    return listener


def serve(listener: socket.socket, unix_path: str) -> None:
    """Accept forever; each connection gets a unix connection to the proxy and two pump threads."""
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    while True:
        client, _ = listener.accept()
        if not slots.acquire(blocking=False):
            client.close()
            continue
        threading.Thread(target=_bridge, args=(client, unix_path, slots), daemon=True).start()


def _bridge(client: socket.socket, unix_path: str, slots: threading.BoundedSemaphore) -> None:
    try:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(unix_path)
        except OSError:
            upstream.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        upstream.close()
    finally:
        client.close()
        slots.release()


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy until `source` ends, then pass the end on (half-close)."""
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def run_forever(listener: socket.socket, unix_path: str) -> None:
    """The bridge process's body: never returns."""
    try:
        serve(listener, unix_path)
    finally:
        os._exit(0)

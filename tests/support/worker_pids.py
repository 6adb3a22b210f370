"""Which process serves a connection, read from /proc: the workers of a `kawa serve --workers N`, and the worker
that holds the server side of a client's TCP connection (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx


def children(parent: int) -> list[int]:
    """The pids whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return sorted(found)


def client_port(response: httpx.Response) -> int:
    """The local port of the connection `response` came on (stream it to keep the connection)."""
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def _server_side_inodes(server_port: int, client: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client:
                inodes.add(inode)
    return inodes


def serving_pid(candidates: list[int], server_port: int, client: int) -> int | None:
    """The pid among `candidates` that holds the server side of the connection from local port `client`."""
    targets = {f"socket:[{inode}]" for inode in _server_side_inodes(server_port, client)}
    for pid in candidates:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) in targets:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None

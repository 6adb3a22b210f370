"""One worker of `kawa serve --workers N`: a `DrainingServer` that serves the connections its parent hands over.

Started by the parent (`worker_pool`) as `python -m kawa.cli.worker_server` with two inherited sockets named in its
environment: the hand-off pair (connections in, `READY` out) and its link to the parent's worker hub (stop, limits
and conversation turns shared with the other workers). It does not listen on the port itself and does not migrate
the database (the parent did both, once). It dies with its parent (PR_SET_PDEATHSIG): a killed server leaves no
workers behind, and its runs are recovered as after any crash. When the hand-off pair closes (the parent exited
without a signal reaching this worker), it drains and exits as on SIGTERM.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import os
import signal
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from kawa.apps.runners.hub_link import WorkerHubLink
from kawa.cli import connection_handoff
from kawa.cli.draining_server import DrainingServer
from kawa.services import WorkerRole

log = logging.getLogger("kawa")
_PR_SET_PDEATHSIG = 1


class WorkerServer(DrainingServer):
    """Serves the connections that arrive on the hand-off pair instead of accepting on a port."""

    def __init__(self, config: uvicorn.Config, *, app: FastAPI, grace_s: float, handoff: socket.socket) -> None:
        super().__init__(config, app=app, grace_s=grace_s)
        self.handoff = handoff
        self._reading = False
        self._accepting: set[asyncio.Task[Any]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # no listening socket of its own
        if self.should_exit:
            return
        loop = asyncio.get_running_loop()
        protocol = functools.partial(
            self.config.http_protocol_class,  # as uvicorn's own `startup` builds it for a listening socket
            config=self.config,  # type: ignore[call-arg]  # uvicorn types the class as a plain asyncio.Protocol
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        self.handoff.setblocking(False)

        def take_connections() -> None:
            connections, parent_alive = connection_handoff.receive(self.handoff)
            for connection in connections:
                accepting = loop.create_task(loop.connect_accepted_socket(protocol, connection))
                self._accepting.add(accepting)
                accepting.add_done_callback(self._accepting.discard)
            if not parent_alive:
                self._stop_reading(loop)
                if not self.should_exit:
                    log.warning("the parent process is gone: this worker drains and exits")
                    self.should_exit = True

        loop.add_reader(self.handoff.fileno(), take_connections)
        self._reading = True
        self.handoff.send(connection_handoff.READY)

    def _stop_reading(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._reading:
            self._reading = False
            loop.remove_reader(self.handoff.fileno())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stop_reading(asyncio.get_running_loop())  # the parent stops handing connections to this worker
        await super().shutdown(sockets)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (kill -9 of the server takes its workers along)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("could not tie this worker's life to its parent's")
    if os.getppid() == 1:  # the parent died before the call above
        os._exit(1)


def main() -> None:
    _die_with_parent()
    from kawa.cli.log_setup import server_log_config
    from kawa.cli.server_app import create_server_app
    from kawa.settings import Settings

    settings = Settings()
    index = int(os.environ[connection_handoff.INDEX])
    handoff = socket.socket(fileno=int(os.environ[connection_handoff.HANDOFF_FD]))
    hub = WorkerHubLink.from_fd(int(os.environ[connection_handoff.HUB_FD]))
    # One-time start-up work that is not idempotent across workers (re-queueing half-indexed documents without
    # Redis) is done by the first worker of the first start only.
    role = WorkerRole(hub=hub, index=index, first=os.environ.get(connection_handoff.FIRST_START) == "1" and index == 0)
    app = create_server_app(settings, worker=role)
    if not connection_handoff.wait_for_go(handoff):  # the parent could not migrate the database, or is gone
        raise SystemExit(1)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=server_log_config(settings),  # JSON or plain lines with request/run ids, secrets masked
        timeout_graceful_shutdown=5,
    )
    WorkerServer(config, app=app, grace_s=settings.shutdown_grace_s, handoff=handoff).run(sockets=[])


if __name__ == "__main__":
    main()

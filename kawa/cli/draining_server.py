"""`DrainingServer`: uvicorn's graceful shutdown with the runs' deadline in the middle (SIGTERM, Ctrl-C).

It stops accepting connections and ends keep-alive, lets the runs and messages in progress finish for up to
`shutdown_grace_s`, then cuts the rest: each is recorded failed with a reason and its stream ends with an `error`
event, so every client gets a terminal event. Only then does uvicorn wait for the responses and run the app's
lifespan shutdown. A second signal gives up waiting at once.
"""

from __future__ import annotations

import logging
import socket

import uvicorn
from fastapi import FastAPI

from kawa.services import Services

log = logging.getLogger("kawa")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, app: FastAPI, grace_s: float) -> None:
        super().__init__(config)
        self.app = app
        self.grace_s = grace_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive connections close; busy ones close after their response
        services: Services | None = getattr(self.app.state, "services", None)
        if services is not None:
            log.info("shutting down: runs in progress have %.0fs to finish", self.grace_s)
            cut = await services.tasks.drain(self.grace_s, give_up=lambda: self.force_exit)
            if cut:
                log.warning("shutdown deadline passed: %d run(s)/message(s) ended failed", cut)
        await super().shutdown(sockets)

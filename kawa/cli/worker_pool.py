"""`WorkerPool`: the parent process of `kawa serve --workers N`.

It binds the port once, starts N worker processes (`worker_server`), hands each accepted connection to the next
ready worker (`connection_handoff`), keeps the worker hub they share (`WorkerHub`: stop, concurrency limits and
conversation turns across workers without Redis), and restarts a worker that dies. On SIGTERM or Ctrl-C it stops
accepting, passes SIGTERM on to every worker — each drains its runs for up to `KAWA_SHUTDOWN_GRACE_S` as a single
server does — and exits once they have; a second signal is passed on too (the workers then stop waiting).

The parent imports neither the server stack nor the models: it stays small, and a worker's crash cannot take it
along. One-time start-up work, `prepare` (bringing the schema up to date), runs in a thread while the first workers
import the server stack; they open the database only once it is done (`connection_handoff.GO`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kawa.apps.runners.worker_hub import WorkerHub
from kawa.cli import connection_handoff
from kawa.telemetry.metrics import worker_exited

log = logging.getLogger("kawa")
RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
"""Delays before restarting a worker that died, growing while it keeps dying within `STABLE_AFTER_S` of its start."""
STABLE_AFTER_S = 30.0
KILL_AFTER_GRACE_S = 15.0
"""After SIGTERM, how much longer than the drain deadline a worker may take before it is killed."""
PARENT_NICE = -5
UID_STRIDE_PER_WORKER = 100
"""Sandbox uids per worker (python and javascript slots each stay below it), so no two workers share a uid."""


@dataclass(eq=False)
class Worker:
    index: int
    process: asyncio.subprocess.Process
    handoff: socket.socket
    started_at: float = field(default_factory=time.monotonic)
    ready: bool = False


class WorkerPool:
    def __init__(
        self,
        listener: socket.socket,
        workers: int,
        *,
        grace_s: float,
        sandbox_uid: int,
        prepare: Callable[[], None] = lambda: None,
    ) -> None:
        self.listener = listener
        self.prepare = prepare
        self._prepared = False
        self.size = workers
        self.grace_s = grace_s
        self.sandbox_uid = sandbox_uid
        self.hub = WorkerHub()
        self.workers: dict[int, Worker] = {}
        self.restarts = 0
        self._next = 0
        self._failures: dict[int, int] = {}
        self._waiting: list[socket.socket] = []  # accepted before any worker was ready
        self._stopping = asyncio.Event()
        self._signals = 0
        self._ever_ready = False
        self._gave_up = False
        self._raised = False

    def run(self) -> int:
        """Serve until a signal stops the pool; the exit status (1 when no worker could start)."""
        return asyncio.run(self._main())

    async def _main(self) -> int:
        self._raised = _raise_priority()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal)
        self.listener.setblocking(False)
        loop.add_reader(self.listener.fileno(), self._accept)
        watchers = [asyncio.create_task(self._keep(index, first_start=True)) for index in range(self.size)]
        try:
            await asyncio.to_thread(self.prepare)
        except BaseException:
            log.exception("could not prepare the database: stopping")
            self._gave_up = True
            self._on_signal()
        else:
            self._prepared = True
            for worker in self.workers.values():
                self._go(worker)
        await self._stopping.wait()
        loop.remove_reader(self.listener.fileno())
        self.listener.close()  # new connections are refused, as by a single server that shuts down
        for connection in self._waiting:
            connection.close()
        await asyncio.gather(*watchers, return_exceptions=True)
        await self.hub.close()
        return 1 if self._gave_up else 0

    def _on_signal(self) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("shutting down %d worker(s)", len(self.workers))
            self._stopping.set()
        for worker in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)

    async def _keep(self, index: int, *, first_start: bool) -> None:
        """Run worker `index`, and start it again whenever it dies, until the pool stops."""
        while not self._stopping.is_set():
            worker = await self._start(index, first_start=first_start)
            first_start = False
            stopped = asyncio.create_task(self._stopping.wait())
            exited = asyncio.create_task(worker.process.wait())
            await asyncio.wait({stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not exited.done():  # the pool stops: the worker drains, then exits
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), self.grace_s + KILL_AFTER_GRACE_S)
                if not exited.done():
                    log.warning("worker %d did not exit in time: killed", index)
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.kill()
                    await exited
            self._forget(worker)
            if self._stopping.is_set():
                return
            if not worker.ready and not self._ever_ready:
                log.error("worker %d exited (status %s) before it served: giving up", index, exited.result())
                self._gave_up = True
                self._on_signal()
                return
            quick = time.monotonic() - worker.started_at < STABLE_AFTER_S
            self._failures[index] = self._failures.get(index, 0) + 1 if quick else 0
            delay = RESTART_BACKOFF_S[min(self._failures[index], len(RESTART_BACKOFF_S) - 1)]
            log.warning(
                "worker %d (pid %d) exited with status %s: restarting it", index, worker.process.pid, exited.result()
            )
            self.restarts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _start(self, index: int, *, first_start: bool) -> Worker:
        loop = asyncio.get_running_loop()
        handoff, worker_end = connection_handoff.handoff_pair()
        hub_end, hub_worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {
            **os.environ,
            connection_handoff.HANDOFF_FD: str(worker_end.fileno()),
            connection_handoff.HUB_FD: str(hub_worker_end.fileno()),
            connection_handoff.INDEX: str(index),
            connection_handoff.FIRST_START: "1" if first_start else "0",
            "KAWA_SANDBOX__SANDBOX_UID": str(self.sandbox_uid + index * UID_STRIDE_PER_WORKER),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kawa.cli.worker_server",
            env=env,
            pass_fds=(worker_end.fileno(), hub_worker_end.fileno()),
            start_new_session=True,  # Ctrl-C reaches the parent only, which passes SIGTERM on: one drain, not two
            preexec_fn=_usual_priority if self._raised else None,
        )
        worker_end.close()
        hub_worker_end.close()
        reader, writer = await asyncio.open_unix_connection(sock=hub_end)
        self.hub.attach(reader, writer)
        worker = Worker(index, process, handoff)
        self.workers[index] = worker
        if self._prepared:
            self._go(worker)
        loop.add_reader(handoff.fileno(), self._heard_from, worker)
        return worker

    @staticmethod
    def _go(worker: Worker) -> None:
        with contextlib.suppress(OSError):
            worker.handoff.send(connection_handoff.GO)

    def _heard_from(self, worker: Worker) -> None:
        try:
            message = worker.handoff.recv(64)
        except BlockingIOError:
            return
        except OSError:
            message = b""
        if message == connection_handoff.READY:
            worker.ready = True
            self._ever_ready = True
            waiting, self._waiting = self._waiting, []
            for connection in waiting:
                self._dispatch(connection)
        elif not message:
            asyncio.get_running_loop().remove_reader(worker.handoff.fileno())

    def _forget(self, worker: Worker) -> None:
        worker_exited(worker.process.pid)  # its live gauges (active runs, pools) stop counting in /metrics
        if self.workers.get(worker.index) is worker:
            del self.workers[worker.index]
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(worker.handoff.fileno())
        worker.handoff.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. too many open files: try again on the next readiness
                log.warning("accept failed: %s", exc)
                return
            self._dispatch(connection)

    def _dispatch(self, connection: socket.socket) -> None:
        """Hand the connection to the next ready worker (round robin); keep it while none is ready."""
        ready = [w for w in sorted(self.workers.values(), key=lambda w: w.index) if w.ready]
        for attempt in range(len(ready)):
            worker = ready[(self._next + attempt) % len(ready)]
            if connection_handoff.hand_over(worker.handoff, connection):
                self._next = (self._next + attempt + 1) % max(len(ready), 1)
                connection.close()
                return
        if ready:  # every worker refused it (their queues are full): the client retries
            connection.close()
        else:
            self._waiting.append(connection)


def _raise_priority() -> bool:
    """Run the parent a little ahead of the workers where allowed (root): it only relays, but every new connection
    and every stop between workers waits for it, and on a loaded machine a relay queued behind run work is what
    makes those slow. Its workers start at the usual priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + PARENT_NICE)
    except OSError:  # not allowed: all at the same priority, as any multi-process server
        return False
    return True


def _usual_priority() -> None:
    """In a new worker, before it runs Python: back to the priority the server was started with."""
    os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) - PARENT_NICE)


def bind(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """The listening socket, bound once by the parent (IPv6 when `host` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(backlog)
    return listener

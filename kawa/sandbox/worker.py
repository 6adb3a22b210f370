"""The server's handle on one sandbox worker process: start it, exchange frames with it, kill it.

The process runs `worker_main.py` under `python -I -S` with a clean environment, in a session of its own (so one
`killpg` ends it and any child it forked). stderr is drained continuously and its tail kept for diagnosis
(node reports running out of heap there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from kawa.sandbox import protocol
from kawa.sandbox.egress import ProxyEndpoint
from kawa.sandbox.settings import SandboxSettings

WORKER_MAIN = Path(__file__).with_name("worker_main.py")
CLEAN_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"}
STDERR_TAIL = 8192
START_TIMEOUT_S = 20.0


class WorkerDied(Exception):
    """The worker process went away or broke the protocol."""


class Worker:
    def __init__(self, language: str, process: asyncio.subprocess.Process, layers: list[str]) -> None:
        self.language = language
        self.process = process
        self.layers = layers
        self.runs = 0
        self.stderr_tail = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._reaper: asyncio.Task[int] | None = None

    @classmethod
    async def start(
        cls,
        language: str,
        config: SandboxSettings,
        *,
        root: str,
        uid: int | None,
        site: str | None = None,
        proxy: ProxyEndpoint | None = None,
    ) -> Worker:
        """Start a worker; python3 workers may get a package `site` for `sys.path` and a `proxy` for HTTP(S)."""
        spec: dict[str, Any] = {
            "language": language,
            "memory_mb": config.memory_mb,
            "timeout_s": config.timeout_s,
            "max_output_bytes": config.max_output_bytes,
            "root": root,
            "uid": uid,
            "namespaces": config.namespaces,
            "node": _which(config.node_path),
            "site": site,
            "proxy": {"socket": proxy.unix_path, "port": proxy.port} if proxy else None,
        }
        env = dict(CLEAN_ENV)
        if proxy is not None:  # the names requests, httpx and urllib read, in both spellings
            for name in ("http_proxy", "https_proxy"):
                env[name] = env[name.upper()] = proxy.url
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-S",
            str(WORKER_MAIN),
            json.dumps(spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
        worker = cls(language, process, [])
        worker._stderr_task = asyncio.create_task(worker._drain_stderr())
        try:
            ready = await asyncio.wait_for(worker._read_frame(), START_TIMEOUT_S)
        except asyncio.CancelledError:
            worker.kill()
            raise
        except (WorkerDied, TimeoutError) as exc:
            await worker.wait_closed()
            detail = worker.stderr_tail.decode("utf-8", "replace").strip()
            raise WorkerDied(f"the {language} worker did not start: {detail or exc!r}") from exc
        worker.layers = [str(layer) for layer in ready.get("layers", [])]
        return worker

    async def call(self, frame: bytes) -> dict[str, Any]:
        """Send one encoded request frame (`protocol.encode`) and wait for the reply."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(frame)
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerDied(str(exc)) from exc
        return await self._read_frame()

    async def _read_frame(self) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            header = await stdout.readexactly(protocol.HEADER.size)
            (size,) = protocol.HEADER.unpack(header)
            if size > protocol.MAX_FRAME:
                raise WorkerDied(f"frame of {size} bytes")
            return protocol.decode(await stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            raise WorkerDied(str(exc)) from exc

    async def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while chunk := await stderr.read(65536):
            self.stderr_tail += chunk
            del self.stderr_tail[:-STDERR_TAIL]

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL the worker's whole session at once; reaping happens in the background."""
        # os.killpg, not Process.kill: Popen.send_signal polls first and would reap the child behind asyncio's back.
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self._reaper is None:
            self._reaper = asyncio.create_task(self.process.wait())

    async def wait_closed(self) -> None:
        """Kill (if needed) and wait until the process is reaped and its pipes are closed."""
        self.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5.0)
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 1.0)
        if self.process.returncode is not None:
            transport = getattr(self.process, "_transport", None)
            if transport is not None:
                transport.close()

    async def diagnosis(self) -> str:
        """The tail of the worker's stderr once it has exited (waits briefly for the pipe to close)."""
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 2.0)
        return self.stderr_tail.decode("utf-8", "replace").strip()


def _which(command: str) -> str:
    if os.sep in command:
        return command
    for directory in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep):
        candidate = os.path.join(directory, command)
        if os.access(candidate, os.X_OK):
            return candidate
    return command

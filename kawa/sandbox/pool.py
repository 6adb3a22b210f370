"""`CodeSandbox`: warm pools of confined worker processes that run code nodes' `main` and return its dict.

Each language has a fixed number of slots (`SandboxSettings.python_workers` / `javascript_workers`, at least one);
a slot holds one worker process and serves one run at a time, so the slot count is also the concurrency. A worker
that misbehaves (missed the server's deadline, died, broke the protocol, or the awaiting task was cancelled) is
killed at once and its slot refilled in the background; the next run on that slot waits for the refill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kawa.sandbox import protocol
from kawa.sandbox.egress import ProxyEndpoint
from kawa.sandbox.environment import SandboxEnvironment
from kawa.sandbox.errors import (
    CodeExecutionError,
    CodeMemoryError,
    CodeTimeoutError,
    OutputValidationError,
    SandboxUnavailableError,
)
from kawa.sandbox.settings import SandboxSettings
from kawa.sandbox.worker import Worker, WorkerDied

log = logging.getLogger("kawa.sandbox")

Language = Literal["python3", "javascript"]
LANGUAGES: tuple[Language, ...] = ("python3", "javascript")
# The worker enforces the run's timeout itself; the server's deadline only catches a worker that stopped answering.
DEADLINE_GRACE_S = 2.0
_UID_STRIDE = {"python3": 0, "javascript": 10_000}


@dataclass(eq=False)
class _Slot:
    index: int
    worker: Worker | None = None
    refill: asyncio.Task[Worker] | None = None


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """One language's pool as a health report sees it."""

    language: str
    slots: int
    alive: int
    starting: int


@dataclass(eq=False)
class _LanguagePool:
    language: Language
    size: int
    slots: list[_Slot] = field(default_factory=list)
    free: asyncio.Queue[_Slot] = field(default_factory=asyncio.Queue)
    layers: list[str] = field(default_factory=list)


class CodeSandbox:
    """Runs python3 and javascript code nodes out of process. Use `async with CodeSandbox(config)`, or call
    `start()`/`close()`; `run()` starts the pools on first use when `start()` was not called.

    python3 code imports the packages of `environment` (built, if need be, when the sandbox starts) and, given
    `proxy` (and `config.network`), reaches HTTP(S) destinations through it; without a proxy it has no network.
    """

    def __init__(
        self,
        config: SandboxSettings | None = None,
        *,
        proxy: ProxyEndpoint | None = None,
        environment: SandboxEnvironment | None = None,
    ) -> None:
        self.config = config or SandboxSettings()
        self.environment = environment or SandboxEnvironment.from_settings(self.config)
        self.proxy = proxy if self.config.network else None
        self._site: asyncio.Task[Path] | None = None
        self._pools: dict[str, _LanguagePool] = {}
        self._root: str | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False
        self._retired: set[Worker] = set()

    async def __aenter__(self) -> CodeSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the pools and begin starting the warm workers (does not wait for them)."""
        async with self._start_lock:
            if self._pools:
                return
            self._closed = False
            self._root = tempfile.mkdtemp(prefix="kawa-sandbox-root-")
            if self._site is None or (self._site.done() and not _succeeded(self._site)):
                self._site = asyncio.create_task(self._prepare_environment())
                self._site.add_done_callback(_succeeded)
            sizes = {"python3": self.config.python_workers, "javascript": self.config.javascript_workers}
            for language in LANGUAGES:
                pool = _LanguagePool(language, max(sizes[language], 1))
                for index in range(pool.size):
                    slot = _Slot(index)
                    pool.slots.append(slot)
                    pool.free.put_nowait(slot)
                    if sizes[language] > 0:
                        self._schedule_refill(pool, slot)
                self._pools[language] = pool

    async def wait_ready(self) -> None:
        """Wait until every warm worker has started (benchmarks and tests use this)."""
        await self.start()
        for pool in self._pools.values():
            for slot in pool.slots:
                if slot.refill is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(slot.refill)

    async def close(self) -> None:
        """Kill every worker; pending runs fail."""
        self._closed = True
        workers = list(self._retired)
        self._retired.clear()
        for pool in self._pools.values():
            for slot in pool.slots:
                if slot.refill is not None:
                    slot.refill.cancel()
                    with contextlib.suppress(BaseException):
                        workers.append(await slot.refill)
                    slot.refill = None
                if slot.worker is not None:
                    workers.append(slot.worker)
                    slot.worker = None
        self._pools = {}
        await asyncio.gather(*(worker.wait_closed() for worker in workers))
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def _prepare_environment(self) -> Path:
        if not self.environment.is_ready():
            log.info("preparing the code sandbox's packages in %s", self.environment.path)
        return await asyncio.to_thread(self.environment.prepare, log.info)

    def layers(self, language: Language) -> list[str]:
        """The isolation layers the last started worker of `language` reported as in effect."""
        pool = self._pools.get(language)
        return list(pool.layers) if pool else []

    def pool_status(self) -> list[PoolStatus]:
        """Each language's slots, live workers and workers being started (health reports read it); empty when the
        sandbox is not started or closed."""
        if self._closed:
            return []
        return [
            PoolStatus(
                language=pool.language,
                slots=pool.size,
                alive=sum(1 for s in pool.slots if _slot_alive(s)),
                starting=sum(1 for s in pool.slots if s.refill is not None and not s.refill.done()),
            )
            for pool in self._pools.values()
        ]

    async def run(
        self, language: str, code: str, inputs: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Run `main(**inputs)` (javascript: `main(inputs)`) and return its dict. Raises `CodeExecutionError`.

        `timeout_s` may shorten the configured wall-time limit, not extend it.
        """
        if language not in LANGUAGES:
            raise CodeExecutionError(f"Unsupported code language: {language}")
        timeout = min(float(timeout_s), self.config.timeout_s) if timeout_s is not None else self.config.timeout_s
        try:
            frame = protocol.encode({"code": code, "inputs": inputs, "timeout_s": timeout})
        except (TypeError, ValueError) as exc:
            raise CodeExecutionError(f"The code's inputs cannot be serialised to JSON: {exc}") from exc
        await self.start()
        pool = self._pools[language]
        slot = await pool.free.get()
        try:
            worker = await self._worker_for(pool, slot)
            try:
                reply = await asyncio.wait_for(worker.call(frame), timeout + DEADLINE_GRACE_S)
            except TimeoutError:
                self._discard(pool, slot)
                raise CodeTimeoutError(f"Code execution timed out after {timeout:g} s.") from None
            except WorkerDied:
                self._discard(pool, slot)
                raise await self._crash_error(worker) from None
            except BaseException:  # cancelled: the user stopped the run; kill the worker mid-run
                self._discard(pool, slot)
                raise
            worker.runs += 1
            # A python3 zygote runs no user code (each run gets a fresh child): only javascript workers wear out.
            recycle = language == "javascript" and (
                worker.runs >= self.config.max_runs_per_worker or reply.get("kind") in ("timeout", "memory")
            )
            if recycle:
                self._discard(pool, slot)
            return self._result(reply)
        finally:
            pool.free.put_nowait(slot)

    async def _worker_for(self, pool: _LanguagePool, slot: _Slot) -> Worker:
        if slot.worker is not None and slot.worker.alive:
            return slot.worker
        if slot.worker is not None:
            self._retire(slot)
        for attempt in range(2):
            if slot.refill is None:
                self._schedule_refill(pool, slot)
            assert slot.refill is not None
            try:
                worker = await asyncio.shield(slot.refill)
            except Exception as exc:  # WorkerDied, or OSError when the interpreter cannot even be started
                slot.refill = None
                if attempt == 1:
                    raise SandboxUnavailableError(f"The {pool.language} sandbox is not available: {exc}") from exc
                continue
            slot.refill = None
            slot.worker = worker
            return worker
        raise AssertionError("unreachable")

    def _retire(self, slot: _Slot) -> None:
        assert slot.worker is not None
        worker = slot.worker
        worker.kill()
        slot.worker = None
        self._retired.add(worker)
        reaping = asyncio.create_task(worker.wait_closed())
        reaping.add_done_callback(lambda _: self._retired.discard(worker))

    def _schedule_refill(self, pool: _LanguagePool, slot: _Slot) -> None:
        assert self._root is not None
        uid = self.config.sandbox_uid + _UID_STRIDE[pool.language] + slot.index

        async def start() -> Worker:
            assert self._root is not None
            site: Path | None = None
            if pool.language == "python3" and self._site is not None:
                site = await asyncio.shield(self._site)
            worker = await Worker.start(
                pool.language,
                self.config,
                root=self._root,
                uid=uid,
                site=str(site) if site else None,
                proxy=self.proxy if pool.language == "python3" else None,
            )
            pool.layers = worker.layers
            if self._closed:
                worker.kill()
            return worker

        task = asyncio.create_task(start())
        task.add_done_callback(_consume_exception)
        slot.refill = task

    def _discard(self, pool: _LanguagePool, slot: _Slot) -> None:
        """Kill the slot's worker at once and start its replacement in the background."""
        if slot.worker is not None:
            self._retire(slot)
        if not self._closed:
            self._schedule_refill(pool, slot)

    async def _crash_error(self, worker: Worker) -> CodeExecutionError:
        detail = await worker.diagnosis()
        if "heap out of memory" in detail or "Allocation failed" in detail:
            return CodeMemoryError(
                f"The code exceeded the memory limit of {self.config.memory_mb} MB (JavaScript heap out of memory)."
            )
        last = detail.splitlines()[-1] if detail else "no diagnostics"
        return CodeExecutionError(f"The {worker.language} sandbox worker crashed: {last}")

    @staticmethod
    def _result(reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ok"):
            result = json.loads(str(reply["result"]))
            if not isinstance(result, dict):
                raise CodeExecutionError(f"Result must be a dict, got {type(result).__name__}")
            return result
        kind = reply.get("kind")
        message = str(reply.get("message") or "Code execution failed.")
        if kind == "timeout":
            raise CodeTimeoutError(message)
        if kind == "memory":
            raise CodeMemoryError(message)
        if kind == "output":
            raise OutputValidationError(message)
        raise CodeExecutionError(message)


def _succeeded(task: asyncio.Task[Path]) -> bool:
    """Whether a finished task returned (its exception counts as retrieved: `run` reports it)."""
    return not task.cancelled() and task.exception() is None


def _slot_alive(slot: _Slot) -> bool:
    """A slot holds a live worker: one in use, or a warm one its refill has started."""
    if slot.worker is not None:
        return slot.worker.alive
    refill = slot.refill
    if refill is None or not refill.done() or refill.cancelled() or refill.exception() is not None:
        return False
    return refill.result().alive


def _consume_exception(task: asyncio.Task[Worker]) -> None:
    if not task.cancelled():
        task.exception()

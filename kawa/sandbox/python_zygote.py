"""The python3 worker: a confined, warm interpreter that forks one fresh child per code run.

Stdlib only; imported by `worker_main.py` as a top-level module. The zygote itself runs no user code: each run
gets a child forked from it ahead of time, which lowers its rlimits, installs the seccomp filter and the audit
hook, then waits for its one request, runs `main(**inputs)` and writes its reply to a pipe. So nothing a run
does (patching a module, exhausting memory, hanging) survives into the next run, and the zygote enforces the
wall-time limit by killing the child. The server still has its own deadline and kills the whole worker if the
zygote stops answering.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import io
import json
import linecache
import math
import os
import re
import select
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same modules, under the names the type checker knows
    from kawa.sandbox import audit_hook, confine, protocol, seccomp
else:
    import audit_hook
    import confine
    import protocol
    import seccomp

CODE_FILENAME = "<code>"
_dumps = json.dumps  # bound before any user code can rebind it

# Preloaded so that a child starts with them warm; any other stdlib module can still be imported.
PRELOAD = (
    "re",
    "datetime",
    "decimal",
    "random",
    "hashlib",
    "base64",
    "collections",
    "itertools",
    "functools",
    "string",
    "statistics",
    "uuid",
    "typing",
    "copy",
    "urllib.parse",
    "html",
    "unicodedata",
    "textwrap",
    "operator",
    "fractions",
    "dataclasses",
    "enum",
    "zoneinfo",
    "csv",
    "struct",
    "bisect",
    "heapq",
    "calendar",
    "pprint",
    "netrc",  # requests reads ~/.netrc for every request (there is none: the import is the cost)
)
# The packages code nodes get by default (`kawa.sandbox.environment`). The zygote imports them the first time a
# run's code names one (`names_a_package`); from then on its children start with them, so importing them costs a
# run nothing. Not before: a fork costs CPU in proportion to the zygote's memory (about 3 ms more per run on 2
# cores with them loaded), paid by every run, most of which never import them. Operators' extra packages are not
# imported ahead at all: their import code runs confined.
PRELOAD_PACKAGES = ("requests", "httpx", "jinja2", "socks")
_PACKAGE_NAME = re.compile(r"\b(?:requests|httpx|jinja2|socks)\b")
# What those packages load from outside the sandbox's readable roots (shared libraries, NSS modules): loaded at
# start, before the worker is confined, so that importing the packages later works like importing them at start.
PRELOAD_NATIVE = ("ssl", "zlib", "bz2", "lzma", "encodings.idna", "socket", "select", "selectors")


class Settings:
    def __init__(self, spec: dict[str, Any], readable_roots: Sequence[str], own_uid: bool) -> None:
        self.memory_bytes = int(spec["memory_mb"]) * 1024 * 1024
        self.timeout_s = float(spec["timeout_s"])
        self.max_output_bytes = int(spec["max_output_bytes"])
        self.readable_roots = tuple(readable_roots)
        self.own_uid = own_uid
        proxy = spec.get("proxy")
        self.proxy_port: int | None = int(proxy["port"]) if proxy else None
        self.packages = bool(spec.get("site"))
        """The default packages can be imported (`load_packages` once a run names one)."""


def preload(*, packages: bool) -> None:
    """Import the stdlib modules runs use, and with `packages` what the default packages need from outside the
    readable roots (the packages themselves come with the first run that names one: `load_packages`)."""
    for name in PRELOAD + (PRELOAD_NATIVE if packages else ()):
        with contextlib.suppress(ImportError):
            __import__(name)
    if packages:  # the resolver's first call loads libc's NSS modules and the idna codec: not in every run
        import socket

        with contextlib.suppress(OSError):
            socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)


def names_a_package(code: str) -> bool:
    """Does the code mention a default package (so its run should find it imported)?"""
    return _PACKAGE_NAME.search(code) is not None


def load_packages() -> None:
    for name in PRELOAD_PACKAGES:
        with contextlib.suppress(ImportError):
            __import__(name)
    gc.freeze()


SPARE_CHILDREN = 2
MAX_FD = 1 << 20  # os.closerange uses close_range(2): the bound costs nothing


class _Child:
    """A child forked ahead of time: confined, waiting on `request_fd` for the one run it will do."""

    def __init__(self, pid: int, request_fd: int, result_fd: int) -> None:
        self.pid = pid
        self.request_fd = request_fd
        self.result_fd = result_fd

    def retire(self) -> None:
        """Close its pipes and SIGKILL it; it is reaped later (`_reap_exited`), off the request path."""
        for fd in (self.request_fd, self.result_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def serve(settings: Settings, layers: list[str]) -> None:
    """Answer run requests on stdin/stdout until the server closes stdin.

    A couple of children are forked and confined ahead of time and replaced after each reply, so fork and set-up
    stay off the request path even for back-to-back runs.
    """
    protocol.write_frame(1, {"ready": True, "layers": layers})
    # Everything loaded so far (stdlib, the preloaded packages) moves out of the collector's reach: a collection in
    # a child would otherwise touch every object's header and copy most of the zygote's pages (copy-on-write).
    gc.freeze()
    spares: deque[_Child] = deque(_spawn(settings) for _ in range(SPARE_CHILDREN))
    packages_loaded = not settings.packages
    while True:
        request = protocol.read_frame(0)
        if request is None:
            for child in spares:
                child.retire()
            return
        if not packages_loaded and names_a_package(str(request.get("code", ""))):
            load_packages()  # once; the spares forked before lack them
            packages_loaded = True
            while spares:
                spares.popleft().retire()
        child = spares.popleft() if spares else _spawn(settings)
        reply, child = _run_in(child, request, settings)
        protocol.write_frame(1, reply)
        child.retire()
        _reap_exited()
        while len(spares) < SPARE_CHILDREN:
            spares.append(_spawn(settings))


def _reap_exited() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _spawn(settings: Settings) -> _Child:
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        try:
            os.close(request_write)
            os.close(result_read)
            _child(request_read, result_write, settings)
        finally:
            os._exit(70)
    os.close(request_read)
    os.close(result_write)
    return _Child(pid, request_write, result_read)


def _run_in(child: _Child, request: dict[str, Any], settings: Settings) -> tuple[dict[str, Any], _Child]:
    timeout_s = min(float(request["timeout_s"]), settings.timeout_s)
    for attempt in range(2):
        try:
            protocol.write_frame(child.request_fd, request)
            break
        except OSError:  # the waiting child is gone (should not happen): start another once
            child.retire()
            child = _spawn(settings)
            if attempt:
                raise
    return _collect(child, time.monotonic() + timeout_s, settings, timeout_s), child


def _collect(child: _Child, deadline: float, settings: Settings, timeout_s: float) -> dict[str, Any]:
    chunks: list[bytes] = []
    size = 0
    expected: int | None = None
    while expected is None or size < expected:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([child.result_fd], [], [], max(remaining, 0))
        if not ready:
            _kill(child.pid)
            return {"ok": False, "kind": "timeout", "message": f"Code execution timed out after {timeout_s:g} s."}
        chunk = os.read(child.result_fd, 1 << 20)
        if not chunk:
            break
        size += len(chunk)
        chunks.append(chunk)
        if expected is None and size >= protocol.HEADER.size:
            (expected,) = protocol.HEADER.unpack(b"".join(chunks)[: protocol.HEADER.size])
            expected += protocol.HEADER.size
            if expected > settings.max_output_bytes + protocol.HEADER.size:
                _kill(child.pid)
                return {
                    "ok": False,
                    "kind": "output",
                    "message": f"The code's result is larger than {settings.max_output_bytes} bytes.",
                }
    if expected is not None and size >= expected:
        try:
            reply: dict[str, Any] = protocol.decode(b"".join(chunks)[protocol.HEADER.size : expected])
            return reply
        except ValueError:
            pass
    _, status = _reap(child.pid)
    return _describe_exit(status, settings, timeout_s)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> tuple[int, int]:
    try:
        return os.waitpid(pid, 0)
    except ChildProcessError:
        return pid, 0


def _describe_exit(status: int, settings: Settings, timeout_s: float) -> dict[str, Any]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return {"ok": False, "kind": "timeout", "message": f"Code execution timed out after {timeout_s:g} s."}
        if sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS):
            mb = settings.memory_bytes // (1024 * 1024)
            return {
                "ok": False,
                "kind": "memory",
                "message": f"The code was killed by signal {signal.Signals(sig).name} "
                f"(most likely it exceeded the memory limit of {mb} MB).",
            }
        return {"ok": False, "kind": "error", "message": f"The code was killed by signal {signal.Signals(sig).name}."}
    return {
        "ok": False,
        "kind": "error",
        "message": f"The code exited without a result (exit status {os.WEXITSTATUS(status)}).",
    }


def _child(request_fd: int, out_fd: int, settings: Settings) -> None:
    confine.set_parent_death_signal(signal.SIGKILL)
    # stdin and stdout are the zygote's protocol channel: the user's code gets neither.
    silent_read, silent_write = os.pipe()
    os.close(silent_write)
    os.dup2(silent_read, 0)
    os.close(silent_read)
    os.dup2(2, 1)
    # Everything else inherited from the zygote goes, above all the pipes of the other spare children: with them
    # this run could feed a later run (another app's) its request, or read that run's result.
    _close_all_but(request_fd, out_fd)
    confine.set_limits(
        memory_bytes=settings.memory_bytes,
        cpu_seconds=math.ceil(settings.timeout_s) + 1,
        max_tasks=64 if settings.own_uid else None,
    )
    if seccomp.supported():
        seccomp.install(os.getpid(), allow_exec=False, allow_tcp=settings.proxy_port is not None)
    sys.stdout = io.StringIO()
    sys.stderr = io.StringIO()
    audit_hook.install(settings.readable_roots, settings.proxy_port)
    request = protocol.read_frame(request_fd)
    os.close(request_fd)
    if request is None:
        os._exit(0)
    reply = _run_user_code(str(request["code"]), request.get("inputs") or {}, settings)
    try:
        frame = protocol.encode(reply)
    except MemoryError:
        frame = protocol.encode(_memory_reply(settings))
    data = memoryview(frame)
    while data:
        data = data[os.write(out_fd, data) :]
    os._exit(0)


def _close_all_but(*keep: int) -> None:
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)


def _memory_reply(settings: Settings) -> dict[str, Any]:
    mb = settings.memory_bytes // (1024 * 1024)
    return {"ok": False, "kind": "memory", "message": f"MemoryError: the code exceeded the memory limit of {mb} MB."}


def _run_user_code(code: str, inputs: dict[str, Any], settings: Settings) -> dict[str, Any]:
    linecache.cache[CODE_FILENAME] = (len(code), None, code.splitlines(True), CODE_FILENAME)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(code, CODE_FILENAME, "exec"), namespace)
        main = namespace.get("main")
        if not callable(main):
            return {"ok": False, "kind": "error", "message": "The code must define a function `main`."}
        result = main(**inputs)
        if not isinstance(result, dict):
            return {"ok": False, "kind": "error", "message": f"Result must be a dict, got {type(result).__name__}"}
        return {"ok": True, "result": _dumps(result, ensure_ascii=False)}
    except MemoryError:
        return _memory_reply(settings)
    except BaseException as exc:  # the user's code may raise anything, SystemExit included
        return {"ok": False, "kind": "error", "message": _format_user_exception(exc)}


def _format_user_exception(exc: BaseException) -> str:
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == CODE_FILENAME]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()

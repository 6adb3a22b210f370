"""A Python audit hook for the code-node child process: the in-interpreter layer of the sandbox.

Audit hooks are not a security boundary on their own (native code can ignore them); here they back up the OS
layers (namespaces, seccomp, rlimits) and give the user a clear `PermissionError` naming what was refused. The
hook keeps all its state in positional defaults (an immutable tuple), and the events that could tamper with it
(assigning `__code__` to any function or `__defaults__` to the hook, tracing its frames, walking the heap with
`gc`) are themselves refused.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable
from typing import Any

_REFUSED_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "os.startfile",
        "pty.spawn",
        "resource.setrlimit",
        "resource.prlimit",
        "sys.settrace",
        "sys.setprofile",
        "threading.settrace",
        "threading.setprofile",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.symlink",
        "os.link",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.utime",
        "os.chflags",
        "os.lchflags",
        "os.setxattr",
        "os.removexattr",
        "shutil.rmtree",
        "os.chroot",
        "mmap.__new__",
        "sys._current_frames",
        "sys._current_exceptions",
    }
)
_REFUSED_PREFIXES = (
    "socket.",
    "ctypes.",
    "_ctypes.",
    "webbrowser.",
    "winreg.",
    "msvcrt.",
    "ftplib.",
    "smtplib.",
    "poplib.",
    "imaplib.",
    "nntplib.",
    "telnetlib.",
)
# Without network these fail early with a plain PermissionError; with the proxy they are how code reaches it.
_REFUSED_WITHOUT_NETWORK = ("http.client.", "urllib.")
_GUARDED_ATTRIBUTES = frozenset({"__code__", "__defaults__", "__kwdefaults__", "__closure__", "__globals__"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


_AF_INET = 2
_SOCK_STREAM = 1
_PROXY_HOSTS = ("127.0.0.1", b"127.0.0.1")
_DIRECT_REFUSED = (
    "direct network connections are not allowed in the code sandbox: use HTTP(S), which goes through "
    "kawa's proxy (requests, httpx and urllib use it by default)"
)


def install(readable_roots: Iterable[str], proxy_port: int | None = None) -> None:
    """Refuse processes, sockets, ctypes, writes, and reads outside `readable_roots` from now on.

    With `proxy_port`, one kind of socket is allowed: IPv4 TCP to kawa's egress proxy at 127.0.0.1:`proxy_port`
    (where `HTTP(S)_PROXY` points), so HTTP libraries work and every destination is the proxy's decision.
    """
    roots = tuple(os.path.normpath(root) + os.sep for root in readable_roots)

    def hook(
        event: str,
        args: tuple[Any, ...],
        _refused: frozenset[str] = _REFUSED_EVENTS,
        _prefixes: tuple[str, ...] = _REFUSED_PREFIXES + (() if proxy_port else _REFUSED_WITHOUT_NETWORK),
        _guarded: frozenset[str] = _GUARDED_ATTRIBUTES,
        _roots: tuple[str, ...] = roots,
        _write_flags: int = _WRITE_FLAGS,
        _isinstance: Any = isinstance,
        _str: type = str,
        _bytes: type = bytes,
        _fsdecode: Any = os.fsdecode,
        _abspath: Any = os.path.abspath,
        _sep: str = os.sep,
        _error: type[Exception] = PermissionError,
        _proxy: tuple[str, int] | None = ("127.0.0.1", proxy_port) if proxy_port else None,
        _proxy_hosts: tuple[object, ...] = _PROXY_HOSTS,
        _direct_refused: str = _DIRECT_REFUSED,
        _function: Any = types.FunctionType,
        _own_code: Any = None,  # this hook's code object, set below before the hook is installed
    ) -> None:
        if _proxy is not None and event.startswith("socket."):
            if (
                (event == "socket.__new__" and args[1] == _AF_INET and args[2] & 0xF == _SOCK_STREAM)
                or (event == "socket.connect" and args[1] == _proxy)
                or (event == "socket.getaddrinfo" and args[0] in _proxy_hosts)
            ):
                return
            if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
                raise _error(_direct_refused)
            raise _error(f"{event} is not allowed in the code sandbox")
        if event in _refused or event.startswith(_prefixes):
            raise _error(f"{event} is not allowed in the code sandbox")
        # Defaults may change on any function but this hook (namedtuple and NamedTuple set them); code never.
        if (
            event == "object.__setattr__"
            and len(args) > 1
            and args[1] in _guarded
            and (
                args[1] not in ("__defaults__", "__kwdefaults__")
                or (type(args[0]) is _function and args[0].__code__ is _own_code)
            )
        ):
            raise _error(f"setting {args[1]} is not allowed in the code sandbox")
        if event in ("open", "os.listdir", "os.scandir"):
            path = args[0] if args else None
            if event == "open":
                mode: Any = args[1] if len(args) > 1 else None
                flags: Any = args[2] if len(args) > 2 else 0
                if (_isinstance(mode, _str) and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)) or (
                    _isinstance(flags, int) and flags & _write_flags
                ):
                    raise _error("writing files is not allowed in the code sandbox")
            if path is None or _isinstance(path, int):
                return
            if _isinstance(path, _bytes | _str):
                full = _abspath(_fsdecode(path)) + _sep
                for root in _roots:
                    if full.startswith(root):
                        return
                raise _error(f"access to {_fsdecode(path)!r} is not allowed in the code sandbox")

    defaults = hook.__defaults__
    assert defaults is not None
    hook.__defaults__ = (*defaults[:-1], hook.__code__)
    sys.addaudithook(hook)

"""OS confinement a sandbox worker applies to itself at start-up: namespaces, an empty root, another uid,
Landlock and rlimits.

Stdlib only (ctypes): `worker_main.py` imports this as a top-level module. Each step is tried and recorded, never
assumed: as root we get new mount/network/IPC/UTS namespaces, a read-only tmpfs root that holds only the runtime
(interpreter stdlib or node binary, and shared libraries) and a uid of our own; without root we try the same inside
a user namespace; where neither is allowed (e.g. a container without CAP_SYS_ADMIN) the worker carries on with
Landlock (unprivileged) and the in-process layers (seccomp, audit hooks / node's permission model).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import resource
import socket
import stat
import struct
from collections.abc import Iterable

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# Landlock (Linux >= 5.13; same syscall numbers on x86_64 and aarch64)
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_LANDLOCK_RULE_NET_PORT = 2
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
# Every filesystem right each ABI version knows (v1: 13 rights, v2: +REFER, v3: +TRUNCATE, v5: +IOCTL_DEV).
_FS_ALL_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def set_parent_death_signal(signum: int) -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def enter_namespaces() -> str | None:
    """New mount, network, IPC and UTS namespaces: as root directly, else inside a user namespace.

    Returns "root" or "userns" for what worked, None when neither is allowed here.
    """
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if os.geteuid() == 0 and _libc.unshare(flags) == 0:
        return "root"
    uid, gid = os.geteuid(), os.getegid()
    if _libc.unshare(flags | CLONE_NEWUSER) != 0:
        return None
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    except OSError:
        return None
    return "userns"


_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """Bring up `lo` in this (new) network namespace, where it starts down. Needs CAP_NET_ADMIN there."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14x", b"lo", 0)
        (flags,) = struct.unpack_from("H", fcntl.ioctl(probe, _SIOCGIFFLAGS, request), 16)
        fcntl.ioctl(probe, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def _mount_point(root: str, path: str, is_dir: bool) -> str:
    target = root + path
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a"):
            pass
    return target


def build_root(root: str, read_only: Iterable[str], hide: Iterable[str] = ()) -> None:
    """Make `root` a fresh read-only tmpfs holding bind mounts of `read_only` at their own paths; chroot into it.

    Paths that are symlinks on the host (e.g. /lib -> usr/lib) are recreated as symlinks. `hide` paths (inside
    the bound ones) get an empty tmpfs on top. Must run in a private mount namespace with CAP_SYS_ADMIN.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path in read_only:
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), root + path)
            continue
        real = os.path.realpath(path)
        if not os.path.exists(real):
            continue
        target = _mount_point(root, path, os.path.isdir(real))
        _mount(real, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path in hide:
        if os.path.isdir(root + path):
            _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=555")
    os.makedirs(root + "/tmp", exist_ok=True)
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    os.chroot(".")
    os.chdir("/")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none). Only asks; restricts nothing."""
    syscall = _libc.syscall
    syscall.restype = ctypes.c_long
    abi = int(
        syscall(
            _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION)
        )
    )
    return max(abi, 0)


def landlock(readable: Iterable[str], connect_ports: Iterable[int] = ()) -> int:
    """Restrict this process (and what it forks or executes) to reading `readable`: no other file may be opened,
    nothing written, no TCP bound or connected but to `connect_ports` (ABI 4+), no signal or abstract socket
    outside (ABI 6+).

    Needs no privilege. Returns the Landlock ABI version applied, 0 where the kernel has no Landlock.
    """
    syscall = _libc.syscall
    syscall.restype = ctypes.c_long
    abi = landlock_abi()
    if abi <= 0:
        return 0
    attr = _RulesetAttr(
        _FS_ALL_BY_ABI[min(abi, 5)],
        _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0,
        _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = int(syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in readable:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rights = _FS_EXECUTE | _FS_READ_FILE | (_FS_READ_DIR if os.path.isdir(path) else 0)
                rule = _PathBeneathAttr(rights, fd)
                if (
                    syscall(
                        _SYS_LANDLOCK_ADD_RULE,
                        ruleset,
                        _LANDLOCK_RULE_PATH_BENEATH,
                        ctypes.byref(rule),
                        ctypes.c_uint32(0),
                    )
                    != 0
                ):
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path} failed")
            finally:
                os.close(fd)
        for port in connect_ports if abi >= 4 else ():
            net_rule = _NetPortAttr(_NET_CONNECT_TCP, port)
            rule_type = _LANDLOCK_RULE_NET_PORT
            if syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, rule_type, ctypes.byref(net_rule), ctypes.c_uint32(0)) != 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule port {port} failed")
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        if syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


_PR_CAPBSET_DROP = 24
_PR_SET_SECUREBITS = 28
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# noroot, no-setuid-fixup and keep-caps, each with its lock bit: uid 0 never regains capabilities by exec.
_SECURE_BITS = 0b101111
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> bool:
    """Give up every capability for good, for a worker that stays uid 0 (no own uid, or a user namespace).

    Returns whether it worked; without CAP_SETPCAP only the (still useful) final capset is possible.
    """
    _libc.prctl(_PR_SET_SECUREBITS, _SECURE_BITS, 0, 0, 0)
    for capability in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    return bool(_libc.capset(ctypes.byref(header), data) == 0)


def world_traversable(path: str) -> bool:
    """Whether a process of another uid could reach `path` (every directory on the way is o+x)."""
    current = os.path.realpath(path)
    while True:
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def drop_to_uid(uid: int) -> None:
    """Become `uid`/`uid` with no supplementary groups (which also drops every capability)."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def set_limits(
    *, memory_bytes: int | None, cpu_seconds: int | None, max_tasks: int | None, open_files: int = 64
) -> None:
    """Resource limits for the calling process. A limit the process may not set is left as it is."""

    def lower(which: int, value: int) -> None:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))

    if memory_bytes is not None:
        lower(resource.RLIMIT_AS, memory_bytes)
    if cpu_seconds is not None:
        lower(resource.RLIMIT_CPU, cpu_seconds)
    if max_tasks is not None:
        lower(resource.RLIMIT_NPROC, max_tasks)
    lower(resource.RLIMIT_FSIZE, 0)
    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_NOFILE, open_files)

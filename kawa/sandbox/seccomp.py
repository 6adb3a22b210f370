"""A seccomp-BPF filter for sandbox workers: no new processes, no sockets, no escape from the other layers.

Stdlib only (ctypes): workers import this as a top-level module before they confine themselves. A filter needs
no privilege (only `no_new_privs`), so this layer holds whether or not kawa runs as root. Denied calls fail with
EPERM, which the user's code sees as an ordinary `PermissionError` / `EPERM`.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import platform
import struct

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]  (little endian on both arches)
_NR_OFFSET = 0
_ARCH_OFFSET = 4
_ARG_OFFSET = 16

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_JGE_K = 0x35
_AND_K = 0x54
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_CLONE_THREAD = 0x00010000
_AF_INET = 2
_SOCK_STREAM = 1
_IPPROTO_TCP = 6
_SOCK_TYPE_MASK = 0xF  # the rest of socket()'s type argument is SOCK_NONBLOCK / SOCK_CLOEXEC

# Per architecture: audit arch and the syscall numbers the filter names (None: the arch has no such call).
_ARCHES: dict[str, tuple[int, dict[str, int | None]]] = {
    "x86_64": (
        0xC000003E,
        {
            "socket": 41,
            "socketpair": 53,
            "fork": 57,
            "vfork": 58,
            "clone": 56,
            "clone3": 435,
            "execve": 59,
            "execveat": 322,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "mount": 165,
            "umount2": 166,
            "pivot_root": 155,
            "chroot": 161,
            "unshare": 272,
            "setns": 308,
            "kill": 62,
            "tkill": 200,
            "tgkill": 234,
            "rt_sigqueueinfo": 129,
            "rt_tgsigqueueinfo": 297,
            "pidfd_open": 434,
            "pidfd_send_signal": 424,
            "pidfd_getfd": 438,
            "setsid": 112,
            "setpgid": 109,
            "bpf": 321,
            "perf_event_open": 298,
            "userfaultfd": 323,
            "keyctl": 250,
            "add_key": 248,
            "request_key": 249,
            "kexec_load": 246,
            "kexec_file_load": 320,
            "init_module": 175,
            "finit_module": 313,
            "delete_module": 176,
            "reboot": 169,
            "swapon": 167,
            "swapoff": 168,
            "acct": 163,
            "iopl": 172,
            "ioperm": 173,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "open_by_handle_at": 304,
            "name_to_handle_at": 303,
            "fanotify_init": 300,
            "personality": 135,
            "seccomp": 317,
            "move_mount": 429,
            "open_tree": 428,
            "fsopen": 430,
            "fsmount": 432,
            "fspick": 433,
            "mount_setattr": 442,
            "settimeofday": 164,
            "clock_settime": 227,
            "adjtimex": 159,
            "syslog": 103,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "socket": 198,
            "socketpair": 199,
            "fork": None,
            "vfork": None,
            "clone": 220,
            "clone3": 435,
            "execve": 221,
            "execveat": 281,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "mount": 40,
            "umount2": 39,
            "pivot_root": 41,
            "chroot": 51,
            "unshare": 97,
            "setns": 268,
            "kill": 129,
            "tkill": 130,
            "tgkill": 131,
            "rt_sigqueueinfo": 138,
            "rt_tgsigqueueinfo": 240,
            "pidfd_open": 434,
            "pidfd_send_signal": 424,
            "pidfd_getfd": 438,
            "setsid": 157,
            "setpgid": 154,
            "bpf": 280,
            "perf_event_open": 241,
            "userfaultfd": 282,
            "keyctl": 219,
            "add_key": 217,
            "request_key": 218,
            "kexec_load": 104,
            "kexec_file_load": 294,
            "init_module": 105,
            "finit_module": 273,
            "delete_module": 106,
            "reboot": 142,
            "swapon": 224,
            "swapoff": 225,
            "acct": 89,
            "iopl": None,
            "ioperm": None,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "open_by_handle_at": 265,
            "name_to_handle_at": 264,
            "fanotify_init": 262,
            "personality": 92,
            "seccomp": 277,
            "move_mount": 429,
            "open_tree": 428,
            "fsopen": 430,
            "fsmount": 432,
            "fspick": 433,
            "mount_setattr": 442,
            "settimeofday": 170,
            "clock_settime": 112,
            "adjtimex": 171,
            "syslog": 116,
        },
    ),
}

# Always refused. `execve`/`execveat` are added unless the caller still has to exec its runtime (node).
_DENIED = (
    "socket",
    "socketpair",
    "fork",
    "vfork",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "tkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "setsid",
    "setpgid",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "iopl",
    "ioperm",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "personality",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fspick",
    "mount_setattr",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "syslog",
)


def supported() -> bool:
    return platform.machine() in _ARCHES


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(own_pid: int, *, allow_exec: bool, allow_tcp: bool = False) -> bytes:
    """The BPF program: refuse the calls above, threads but not processes, signals only to oneself.

    With `allow_tcp` (code nodes with network through kawa's proxy), `socket()` may create IPv4 TCP sockets and
    nothing else: which addresses they reach is up to the network namespace and Landlock.
    """
    audit_arch, numbers = _ARCHES[platform.machine()]
    eperm = _RET_ERRNO | errno.EPERM
    prog = [
        _insn(_LD_W_ABS, 0, 0, _ARCH_OFFSET),
        _insn(_JEQ_K, 1, 0, audit_arch),
        _insn(_RET_K, 0, 0, _RET_KILL_PROCESS),
        _insn(_LD_W_ABS, 0, 0, _NR_OFFSET),
    ]
    if platform.machine() == "x86_64":  # the x32 ABI would renumber everything: refuse it outright
        prog += [_insn(_JGE_K, 0, 1, 0x40000000), _insn(_RET_K, 0, 0, eperm)]
    denied = list(_DENIED) + ([] if allow_exec else ["execve", "execveat"])
    if allow_tcp:
        denied.remove("socket")
    for name in denied:
        nr = numbers[name]
        if nr is not None:
            prog += [_insn(_JEQ_K, 0, 1, nr), _insn(_RET_K, 0, 0, eperm)]
    # clone3 hides its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
    prog += [_insn(_JEQ_K, 0, 1, numbers["clone3"] or 0), _insn(_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS)]

    def arg_low(index: int) -> bytes:
        return _insn(_LD_W_ABS, 0, 0, _ARG_OFFSET + 8 * index)

    def arg_high(index: int) -> bytes:
        return _insn(_LD_W_ABS, 0, 0, _ARG_OFFSET + 8 * index + 4)

    allow = _insn(_RET_K, 0, 0, _RET_ALLOW)
    deny = _insn(_RET_K, 0, 0, eperm)
    if allow_tcp:  # socket(AF_INET, SOCK_STREAM | flags, 0 or IPPROTO_TCP) only
        prog += [
            _insn(_JEQ_K, 0, 10, numbers["socket"] or 0),
            arg_low(0),
            _insn(_JEQ_K, 0, 7, _AF_INET),
            arg_low(1),
            _insn(_AND_K, 0, 0, _SOCK_TYPE_MASK),
            _insn(_JEQ_K, 0, 4, _SOCK_STREAM),
            arg_low(2),
            _insn(_JEQ_K, 1, 0, 0),
            _insn(_JEQ_K, 0, 1, _IPPROTO_TCP),
            allow,
            deny,
        ]
    # Argument loads below happen only on paths that end in a return, so the accumulator keeps `nr` otherwise.
    # clone: threads (CLONE_THREAD) only.
    prog += [
        _insn(_JEQ_K, 0, 4, numbers["clone"] or 0),
        arg_low(0),
        _insn(_JSET_K, 0, 1, _CLONE_THREAD),
        allow,
        deny,
    ]
    # kill(pid, sig) and tgkill(tgid, tid, sig): only to this process itself.
    for name in ("kill", "tgkill"):
        prog += [
            _insn(_JEQ_K, 0, 6, numbers[name] or 0),
            arg_high(0),
            _insn(_JEQ_K, 0, 3, 0),
            arg_low(0),
            _insn(_JEQ_K, 0, 1, own_pid),
            allow,
            deny,
        ]
    prog.append(allow)
    return b"".join(prog)


@functools.cache
def _libc() -> ctypes.CDLL:
    # Loaded once, in the zygote: a forked child reuses it without another dlopen.
    return ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(own_pid: int, *, allow_exec: bool, allow_tcp: bool = False) -> None:
    """Install the filter on the calling thread (and whatever it executes later). Raises OSError on failure."""
    libc = _libc()
    program = build_filter(own_pid, allow_exec=allow_exec, allow_tcp=allow_tcp)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p).value)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")

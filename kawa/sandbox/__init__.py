"""Out-of-process code execution for code nodes: warm, confined python3 and javascript workers.

How the isolation works, layer by layer (each worker reports the layers it has in effect: `CodeSandbox.layers`):

1. **Clean process.** Workers start as `python -I -S worker_main.py` with an environment of `LANG` and `PATH`
   only: no `KAWA_*` variable, no secret, no site-packages; stdin/stdout carry the protocol, stderr is drained.
2. **Namespaces and an empty root** (`confine.py`). As root (or, failing that, in a user namespace) the worker
   unshares mount, network, IPC and UTS namespaces. The new network namespace has no interface but `lo`, so
   nothing outside is reachable (see "Network" below). The worker mounts a read-only tmpfs holding only bind
   mounts (read-only) of the shared libraries and of the runtime (the python stdlib, site-packages hidden, and the
   sandbox's own package site; or the node binary) at their own paths, and chroots into it: /etc/passwd, /proc,
   the kawa tree and its data simply do not exist there.
3. **Another uid, no capabilities.** As root the worker then switches to a uid of its own (`sandbox_uid` + slot),
   dropping every capability, so `RLIMIT_NPROC` counts only its own tasks and no file of the server's uid is
   writable. A worker that stays uid 0 (inside a user namespace, or when the runtime is not reachable by another
   uid) drops its capabilities and locks the securebits instead ("no-capabilities").
4. **Landlock** (`confine.landlock`, unprivileged, Linux 5.13+): only the shared libraries and the runtime can be
   opened (read-only), nothing written; from ABI 4 no TCP bind/connect, from ABI 6 no signals or abstract unix
   sockets outside the worker's own domain. This is the OS-level file and network barrier where namespaces
   are not allowed.
5. **rlimits.** Address space (`memory_mb`; node gets +1 GB of address space for V8's reservations and a heap
   cap of `memory_mb`), CPU seconds, file size 0, core dumps 0, open files.
6. **seccomp-BPF** (`seccomp.py`, needs no privilege): socket/socketpair, fork/vfork, clone without
   CLONE_THREAD, exec (python), ptrace, mount/chroot/unshare/setns, signals to other processes, io_uring, bpf,
   keyctl and similar calls fail with EPERM.
7. **In-runtime layer.** python: the zygote forks a fresh child per run, and that child installs an audit hook
   (`audit_hook.py`) that refuses sockets, processes, ctypes, writes and reads outside the stdlib with a clear
   `PermissionError`. javascript: node runs with its permission model (no fs, child processes, workers or
   addons) and each run gets a fresh V8 context whose global has a null prototype and holds no host object:
   no `require`, `process`, `fetch` or timers.

Packages (`environment.py`): python3 code imports the stdlib plus a dedicated site of its own: `requests`,
`httpx`, `jinja2` and `PySocks` copied from kawa's install, and the operator's `SandboxSettings.packages`
(`kawa sandbox install`). The warm worker imports the default ones before it forks, so they cost a run nothing.

Network (python3, when the server passes a `ProxyEndpoint`): code reaches HTTP(S) only through kawa's egress
proxy (`kawa.net.egress_proxy`), which applies the http-request node's SSRF policy after DNS resolution.
`HTTP(S)_PROXY` point at `127.0.0.1:<port>`. With namespaces, `lo` is up and a bridge process inside the namespace
(`proxy_bridge.py`) relays that port to the proxy's unix socket, bound into the empty root: no other address
exists. Without them, the port is the proxy's own. Either way seccomp lets a run create IPv4 TCP sockets only,
Landlock (ABI 4+) lets it connect to that port only, and the audit hook to 127.0.0.1:<port> only; sockets stay
refused outright when there is no proxy.

Where namespaces are not allowed (a container without CAP_SYS_ADMIN, user namespaces disabled) layers 2-3 are
skipped and reported missing; the others still refuse every attack the tests try
(`tests/sandbox/test_sandbox_without_namespaces.py`). Any layer the kernel lacks is likewise skipped and absent
from `CodeSandbox.layers()`.

Wall time is enforced by the worker (the python zygote kills the child; node's vm timeout) and again by the
server, which kills the whole worker session with SIGKILL if it does not answer in time or the run is cancelled.
Memory: python children get `RLIMIT_AS`; node gets `--max-old-space-size` (a heap overflow aborts node, the pool
reports `CodeMemoryError` and replaces the worker).
"""

"""Entry point of a sandbox worker process: confine this process, then serve python3 runs or become node.

Started by `kawa.sandbox.worker` as `python -I -S worker_main.py <spec-json>` with a clean environment, stdin and
stdout as the protocol channel and stderr drained by the server. Stdlib only: siblings are imported as top-level
modules from this directory, which is then dropped from `sys.path` (and is not visible after the chroot).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

if TYPE_CHECKING:  # the same modules, under the names the type checker knows
    from kawa.sandbox import confine, proxy_bridge, python_zygote, seccomp
else:
    import confine
    import proxy_bridge
    import python_zygote
    import seccomp

sys.path.remove(HERE)

PUBLIC_DATA = ("/usr/share/zoneinfo",)


def _library_paths() -> list[str]:
    multiarch = f"{os.uname().machine}-linux-gnu"
    paths: list[str] = []
    for top in ("/lib", "/lib64"):
        if os.path.islink(top):
            paths.append(top)
        elif top == "/lib":
            paths.append(f"/lib/{multiarch}")
        else:
            paths.append(top)
    paths += [f"/usr/lib/{multiarch}", "/usr/lib64"]
    return [path for path in paths if os.path.lexists(path)]


def _landlock(layers: list[str], runtime_paths: list[str], connect_ports: Sequence[int] = ()) -> None:
    """Landlock on top: only the libraries and the runtime are readable, no TCP (but to `connect_ports`), no
    signals out (where supported)."""
    multiarch = f"{os.uname().machine}-linux-gnu"
    candidates = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}", "/lib64", "/usr/lib64", *runtime_paths]
    paths = sorted({os.path.realpath(path) for path in candidates if os.path.exists(path)})
    try:
        abi = confine.landlock(paths, connect_ports)
    except OSError:
        return
    if abi:
        layers.append(f"landlock(v{abi})")


def _confine(
    spec: dict[str, Any], runtime_paths: list[str], hide: list[str], proxy_socket: str | None = None
) -> tuple[list[str], bool, bool]:
    """Apply the OS layers that this machine allows; return their names, whether we run as our own uid and whether
    we have a network namespace of our own that is ready for the bridge to the proxy.

    With `proxy_socket`, the namespace's `lo` is brought up and the socket's directory is bound into the empty
    root, for the bridge to kawa's egress proxy (`proxy_bridge`).
    """
    layers: list[str] = ["clean-environment"]
    namespaces = confine.enter_namespaces() if spec.get("namespaces", True) else None
    if namespaces:
        if proxy_socket:
            try:
                confine.loopback_up()
            except OSError:  # code then finds no proxy (connection refused) rather than no sandbox at all
                proxy_socket = None
        layers += [f"namespaces({namespaces})", "network-via-proxy" if proxy_socket else "no-network"]
        binds = [os.path.dirname(proxy_socket)] if proxy_socket else []
        confine.build_root(spec["root"], _library_paths() + runtime_paths + binds, hide)
        layers.append("empty-root")
    own_uid = False
    uid = spec.get("uid")
    # Outside a chroot another uid must still reach the runtime; inside one, the bind mounts see to that.
    reachable = bool(namespaces) or all(confine.world_traversable(path) for path in runtime_paths)
    if namespaces != "userns" and os.geteuid() == 0 and uid and reachable:
        confine.drop_to_uid(int(uid))
        own_uid = True
        layers.append("own-uid")
    elif os.geteuid() == 0 and confine.drop_capabilities():
        layers.append("no-capabilities")
    confine.set_parent_death_signal(signal.SIGKILL)
    os.chdir("/")
    return layers, own_uid, bool(namespaces and proxy_socket)


def _start_bridge(port: int, unix_path: str) -> None:
    """Fork the bridge from loopback TCP in our network namespace to the proxy's unix socket."""
    listener = proxy_bridge.listen(port)
    if os.fork() == 0:
        confine.set_parent_death_signal(signal.SIGKILL)
        # Not the protocol pipes: the server must see end-of-file on them as soon as the zygote is gone.
        os.dup2(2, 0)
        os.dup2(2, 1)
        os.closerange(3, listener.fileno())
        os.closerange(listener.fileno() + 1, python_zygote.MAX_FD)
        with contextlib.suppress(OSError):  # no file at all; connecting to the proxy's unix socket stays possible
            confine.landlock([])
        proxy_bridge.run_forever(listener, unix_path)
    listener.close()


def run_python(spec: dict[str, Any]) -> None:
    sys.dont_write_bytecode = True
    site = spec.get("site")
    stdlib = [path for path in sys.path if os.path.isdir(path)]
    if site:
        sys.path.append(site)
    python_zygote.preload(packages=bool(site))
    hide = [os.path.join(path, "site-packages") for path in stdlib]
    # Public data the stdlib reads: the time zone database (zoneinfo); and the sandbox's own packages.
    readable = stdlib + [path for path in PUBLIC_DATA if os.path.isdir(path)] + ([site] if site else [])
    proxy = spec.get("proxy")
    layers, own_uid, bridged = _confine(spec, readable, hide, proxy["socket"] if proxy else None)
    if proxy and bridged:
        try:
            _start_bridge(int(proxy["port"]), proxy["socket"])
        except OSError:
            layers[layers.index("network-via-proxy")] = "no-network"
    _landlock(layers, readable, [int(proxy["port"])] if proxy else [])
    if proxy:
        layers.append("egress-proxy")
    layers += ["rlimits", "fork-per-run"]
    if seccomp.supported():
        layers.append("seccomp")
    layers.append("audit-hook")
    settings = python_zygote.Settings(spec, readable_roots=readable, own_uid=own_uid)
    python_zygote.serve(settings, layers)


def run_javascript(spec: dict[str, Any]) -> None:
    node = os.path.realpath(spec["node"])
    with open(os.path.join(HERE, "javascript_worker.js")) as fh:
        source = fh.read()
    layers, own_uid, _ = _confine(spec, [node], [])
    memory_mb = int(spec["memory_mb"])
    # V8 reserves about 1 GB of address space up front; the heap itself is capped by --max-old-space-size.
    confine.set_limits(
        memory_bytes=(memory_mb + 1024) * 1024 * 1024,
        cpu_seconds=None,
        max_tasks=64 if own_uid else None,
        open_files=256,
    )
    layers.append("rlimits")
    # node reads OpenSSL's config at start-up when it exists (outside a chroot it does): a public file.
    _landlock(layers, [node, "/etc/ssl/openssl.cnf"])
    if seccomp.supported():
        seccomp.install(os.getpid(), allow_exec=True)
        layers.append("seccomp")
    config = {"layers": layers, "max_output_bytes": spec["max_output_bytes"]}
    argv = [
        node,
        "--experimental-permission",
        "--no-warnings",
        f"--max-old-space-size={memory_mb}",
        "-e",
        source,
        json.dumps(config),
    ]
    os.execve(node, argv, {"LANG": "C.UTF-8"})


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec["language"] == "python3":
        run_python(spec)
    else:
        run_javascript(spec)


if __name__ == "__main__":
    main()

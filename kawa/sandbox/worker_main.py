"""Entry point of a sandbox worker process: confine this process, then serve python3 runs or become node.

Started by `kawa.sandbox.worker` as `python -I -S worker_main.py <spec-json>` with a clean environment, stdin and
stdout as the protocol channel and stderr drained by the server. Stdlib only: siblings are imported as top-level
modules from this directory, which is then dropped from `sys.path` (and is not visible after the chroot).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

if TYPE_CHECKING:  # the same modules, under the names the type checker knows
    from kawa.sandbox import confine, python_zygote, seccomp
else:
    import confine
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


def _landlock(layers: list[str], runtime_paths: list[str]) -> None:
    """Landlock on top: only the libraries and the runtime are readable, no TCP, no signals out (where supported)."""
    multiarch = f"{os.uname().machine}-linux-gnu"
    candidates = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}", "/lib64", "/usr/lib64", *runtime_paths]
    paths = sorted({os.path.realpath(path) for path in candidates if os.path.exists(path)})
    try:
        abi = confine.landlock(paths)
    except OSError:
        return
    if abi:
        layers.append(f"landlock(v{abi})")


def _confine(spec: dict[str, Any], runtime_paths: list[str], hide: list[str]) -> tuple[list[str], bool]:
    """Apply the OS layers that this machine allows; return their names and whether we run as our own uid."""
    layers: list[str] = ["clean-environment"]
    namespaces = confine.enter_namespaces() if spec.get("namespaces", True) else None
    if namespaces:
        layers += [f"namespaces({namespaces})", "no-network"]
        confine.build_root(spec["root"], _library_paths() + runtime_paths, hide)
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
    return layers, own_uid


def run_python(spec: dict[str, Any]) -> None:
    python_zygote.preload()
    stdlib = [path for path in sys.path if os.path.isdir(path)]
    hide = [os.path.join(path, "site-packages") for path in stdlib]
    # Public data the stdlib reads: the time zone database (zoneinfo).
    readable = stdlib + [path for path in PUBLIC_DATA if os.path.isdir(path)]
    layers, own_uid = _confine(spec, readable, hide)
    _landlock(layers, readable)
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
    layers, own_uid = _confine(spec, [node], [])
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

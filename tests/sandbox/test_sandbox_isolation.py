"""Attacks a code node might try, and that each fails cleanly while the server and the pool stay healthy."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kawa.sandbox.errors import CodeExecutionError, CodeMemoryError, CodeTimeoutError
from kawa.sandbox.pool import CodeSandbox

HEALTHY = "def main():\n    return {'ok': 1}\n"
THIS_FILE = str(Path(__file__).resolve())
HOST_PATHS = [path for path in ("/etc/passwd", "/proc/self/environ", THIS_FILE, "/etc") if os.path.exists(path)]


async def assert_pool_healthy(sandbox: CodeSandbox) -> None:
    results = await asyncio.gather(*(sandbox.run("python3", HEALTHY, {}) for _ in range(3)))
    assert results == [{"ok": 1}] * 3
    assert await sandbox.run("javascript", "function main() { return { ok: 1 }; }", {}) == {"ok": 1}


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


async def test_endless_python_loop_times_out(sandbox: CodeSandbox) -> None:
    started = time.monotonic()
    with pytest.raises(CodeTimeoutError, match="timed out after 1 s"):
        await sandbox.run("python3", "def main():\n    while True:\n        pass\n", {}, timeout_s=1)
    assert time.monotonic() - started < 3
    await assert_pool_healthy(sandbox)


async def test_endless_javascript_loop_times_out(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeTimeoutError, match="timed out after 1 s"):
        await sandbox.run("javascript", "function main() { for (;;) {} }", {}, timeout_s=1)
    await assert_pool_healthy(sandbox)


async def test_python_allocating_10_gb_hits_the_memory_limit(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeMemoryError, match="memory limit of 256 MB"):
        await sandbox.run("python3", "def main():\n    x = bytearray(10 * 1024 ** 3)\n    return {}\n", {})
    with pytest.raises(CodeMemoryError):
        await sandbox.run("python3", "def main():\n    x = []\n    while True:\n        x.append('y' * 10**6)\n", {})
    await assert_pool_healthy(sandbox)


async def test_javascript_exhausting_its_heap_hits_the_memory_limit(sandbox: CodeSandbox) -> None:
    code = "function main() { const a = []; for (;;) { a.push(new Array(1e6).fill(1.5)); } }"
    with pytest.raises(CodeMemoryError, match="memory limit of 256 MB"):
        await sandbox.run("javascript", code, {})
    await assert_pool_healthy(sandbox)


async def test_fork_and_subprocess_are_refused(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await sandbox.run("python3", "import os\ndef main():\n    os.fork()\n    return {}\n", {})
    code = "import subprocess\ndef main():\n    return {'o': subprocess.check_output(['id']).decode()}\n"
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await sandbox.run("python3", code, {})
    js = "function main() { return { r: typeof require, p: typeof process }; }"
    assert await sandbox.run("javascript", js, {}) == {"r": "undefined", "p": "undefined"}
    await assert_pool_healthy(sandbox)


async def test_sockets_are_refused_even_to_loopback(sandbox: CodeSandbox, listening_port: int) -> None:
    code = "import socket\ndef main(port):\n    socket.create_connection(('127.0.0.1', port), timeout=1)\n"
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await sandbox.run("python3", code, {"port": listening_port})
    code = "import urllib.request\ndef main(port):\n    urllib.request.urlopen(f'http://127.0.0.1:{port}/')\n"
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await sandbox.run("python3", code, {"port": listening_port})
    js = "function main() { return { f: typeof fetch, x: typeof XMLHttpRequest, w: typeof WebSocket }; }"
    assert await sandbox.run("javascript", js, {}) == {"f": "undefined", "x": "undefined", "w": "undefined"}


async def test_server_files_cannot_be_read(sandbox: CodeSandbox) -> None:
    for path in ("/etc/passwd", THIS_FILE):
        code = f"def main():\n    return {{'t': open({path!r}).read()}}\n"
        with pytest.raises(CodeExecutionError, match=r"(PermissionError|FileNotFoundError)"):
            await sandbox.run("python3", code, {})
    js = "function main() { return { p: this.constructor.constructor('return typeof process')() }; }"
    assert await sandbox.run("javascript", js, {}) == {"p": "undefined"}


async def test_with_namespaces_the_server_files_do_not_even_exist(sandbox: CodeSandbox) -> None:
    if "empty-root" not in sandbox.layers("python3"):
        pytest.skip("namespaces are not available here; the audit hook and seccomp layers are tested elsewhere")
    # os.path.exists is not audited: this shows the empty root itself, not the audit hook.
    code = "import os\ndef main(paths):\n    return {'seen': [p for p in paths if os.path.exists(p)]}\n"
    assert await sandbox.run("python3", code, {"paths": HOST_PATHS}) == {"seen": []}


async def test_the_server_environment_is_not_visible(sandbox: CodeSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAWA_SECRET_KEY", "do-not-leak")
    code = "import os\ndef main():\n    return {'keys': sorted(os.environ)}\n"
    keys = (await sandbox.run("python3", code, {}))["keys"]
    assert not [key for key in keys if key.startswith("KAWA_")]
    assert set(keys) <= {"LANG", "PATH"}


async def test_ctypes_and_signals_to_other_processes_are_refused(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="ctypes"):
        await sandbox.run("python3", "import ctypes\ndef main():\n    ctypes.CDLL(None)\n", {})
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await sandbox.run("python3", "import os\ndef main():\n    os.kill(os.getppid(), 9)\n", {})
    await assert_pool_healthy(sandbox)


async def test_the_audit_hook_cannot_be_tampered_with(sandbox: CodeSandbox) -> None:
    for code in (
        "import gc\ndef main():\n    gc.get_objects()\n",
        "import sys\ndef main():\n    sys.settrace(lambda *a: None)\n",
        "def main():\n    def f(): pass\n    f.__code__ = (lambda: 1).__code__\n",
    ):
        with pytest.raises(CodeExecutionError, match="PermissionError"):
            await sandbox.run("python3", code, {})


async def test_cancelling_a_run_kills_its_worker_and_the_pool_recovers(sandbox: CodeSandbox) -> None:
    task = asyncio.create_task(sandbox.run("python3", "def main():\n    while True:\n        pass\n", {}))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 0.5
    await assert_pool_healthy(sandbox)


def test_seccomp_alone_refuses_fork_socket_and_exec() -> None:
    """The seccomp layer on its own, without audit hooks or namespaces, in a throwaway interpreter."""
    script = (
        "import os, socket, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import seccomp\n"
        "seccomp.install(os.getpid(), allow_exec=False)\n"
        "refused = []\n"
        "for name, attempt in [('fork', os.fork), ('socket', socket.socket),\n"
        "                      ('exec', lambda: os.execv('/bin/true', ['true']))]:\n"
        "    try:\n"
        "        attempt()\n"
        "    except PermissionError:\n"
        "        refused.append(name)\n"
        "print(','.join(refused))\n"
    )
    here = Path(__file__).resolve().parents[2] / "kawa" / "sandbox"
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(here)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert done.stdout.strip() == "fork,socket,exec", done.stderr


async def test_a_run_holds_no_descriptor_of_other_runs(sandbox: CodeSandbox) -> None:
    """Spare children are forked from one zygote: none may keep the pipes of another (a later app's run)."""
    code = (
        "import os\n"
        "def main():\n"
        "    open_fds = []\n"
        "    for fd in range(3, 1024):\n"
        "        try:\n"
        "            os.fstat(fd)\n"
        "        except OSError:\n"
        "            continue\n"
        "        open_fds.append(fd)\n"
        "    return {'fds': open_fds}\n"
    )
    for _ in range(6):  # children forked later inherit more of the zygote's descriptors
        result = await sandbox.run("python3", code, {})
        assert len(result["fds"]) == 1  # the pipe its own result goes back through

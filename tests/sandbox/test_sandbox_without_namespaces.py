"""Where namespaces are not allowed (e.g. a container without CAP_SYS_ADMIN) the other layers still refuse."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kawa.sandbox.confine import landlock_abi
from kawa.sandbox.errors import CodeExecutionError, CodeMemoryError, CodeTimeoutError
from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings


@pytest.fixture(scope="module")
async def bare_sandbox() -> AsyncIterator[CodeSandbox]:
    config = SandboxSettings(python_workers=1, javascript_workers=1, timeout_s=3, memory_mb=256, namespaces=False)
    async with CodeSandbox(config) as sandbox:
        await sandbox.wait_ready()
        yield sandbox


async def test_layers_report_no_namespaces(bare_sandbox: CodeSandbox) -> None:
    layers = bare_sandbox.layers("python3")
    assert "empty-root" not in layers
    assert {"clean-environment", "rlimits", "audit-hook"} <= set(layers)
    assert any(layer.startswith("landlock") for layer in layers) == (landlock_abi() > 0)


@pytest.mark.parametrize(
    "attack",
    [
        "def main():\n    return {'t': open('/etc/passwd').read()}\n",
        "import os\ndef main():\n    return {'l': os.listdir('/')}\n",
        "import socket\ndef main():\n    socket.socket()\n",
        "import os\ndef main():\n    os.fork()\n",
        "import subprocess\ndef main():\n    subprocess.run(['id'])\n",
        "def main():\n    open('/tmp/kawa-sandbox-probe', 'w').write('x')\n",
    ],
)
async def test_attacks_are_still_refused(bare_sandbox: CodeSandbox, attack: str) -> None:
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await bare_sandbox.run("python3", attack, {})


async def test_memory_and_environment_limits_hold(bare_sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeMemoryError):
        await bare_sandbox.run("python3", "def main():\n    b = bytearray(10 * 1024 ** 3)\n", {})
    keys = await bare_sandbox.run("python3", "import os\ndef main():\n    return {'k': sorted(os.environ)}\n", {})
    assert set(keys["k"]) <= {"LANG", "PATH"}


async def test_javascript_still_has_no_host_objects(bare_sandbox: CodeSandbox) -> None:
    js = "function main() { return { p: typeof process, r: typeof require, f: typeof fetch }; }"
    assert await bare_sandbox.run("javascript", js, {}) == {"p": "undefined", "r": "undefined", "f": "undefined"}


def test_landlock_alone_refuses_server_files_and_tcp(tmp_path: Path) -> None:
    """The Landlock layer on its own (no namespaces, seccomp or audit hook), in a throwaway interpreter."""
    secret = tmp_path / "secret.txt"
    secret.write_text("server data")
    script = (
        "import os, socket, sys, sysconfig\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import confine\n"
        "listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen()\n"
        "abi = confine.landlock([sysconfig.get_paths()['stdlib']])\n"
        "if not abi:\n"
        "    print('unsupported'); raise SystemExit\n"
        "refused = []\n"
        "for name, attempt in [('read', lambda: open(sys.argv[2]).read()),\n"
        "                      ('connect', lambda: socket.create_connection(listener.getsockname(), 1))]:\n"
        "    try:\n"
        "        attempt()\n"
        "    except PermissionError:\n"
        "        refused.append(name)\n"
        "print(','.join(refused), abi)\n"
    )
    here = Path(__file__).resolve().parents[2] / "kawa" / "sandbox"
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(here), str(secret)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", "")},
    )
    if done.stdout.strip() == "unsupported":
        pytest.skip("this kernel has no Landlock")
    refused, abi = done.stdout.split()
    assert refused == ("read,connect" if int(abi) >= 4 else "read"), done.stderr


async def test_endless_loop_still_times_out(bare_sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeTimeoutError):
        await bare_sandbox.run("python3", "def main():\n    while True:\n        pass\n", {}, timeout_s=1)
    assert await bare_sandbox.run("python3", "def main():\n    return {'ok': 1}\n", {}) == {"ok": 1}

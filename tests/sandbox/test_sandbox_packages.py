"""What python3 code nodes may import: Dify's default packages and an operator's extras, and nothing of kawa."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import kawa
from kawa.sandbox.confine import world_traversable
from kawa.sandbox.environment import SandboxEnvironment, default_environment_dir
from kawa.sandbox.errors import CodeExecutionError, SandboxUnavailableError
from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings

KAWA_SOURCE = str(Path(kawa.__file__).resolve())
# A tiny pure-Python package from PyPI that is neither a default nor a dependency of one.
EXTRA = "six"


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces", "no-namespaces"])
async def sandbox_with_defaults(request: pytest.FixtureRequest) -> AsyncIterator[CodeSandbox]:
    config = SandboxSettings(python_workers=1, javascript_workers=0, timeout_s=8, memory_mb=256)
    config.namespaces = bool(request.param)
    async with CodeSandbox(config) as sandbox:
        await sandbox.wait_ready()
        yield sandbox


async def test_difys_default_packages_import_at_kawas_versions(sandbox_with_defaults: CodeSandbox) -> None:
    code = (
        "import importlib.metadata, requests, httpx, jinja2, socks\n"
        "def main(names):\n"
        "    return {'versions': {name: importlib.metadata.version(name) for name in names}}\n"
    )
    names = ["requests", "httpx", "Jinja2", "PySocks", "urllib3", "certifi"]
    result = await sandbox_with_defaults.run("python3", code, {"names": names})
    assert result["versions"] == {name: importlib.metadata.version(name) for name in names}


async def test_jinja2_renders_in_a_code_node(sandbox_with_defaults: CodeSandbox) -> None:
    code = (
        "from jinja2.sandbox import SandboxedEnvironment\n"
        "def main(name):\n"
        "    return {'text': SandboxedEnvironment().from_string('Hi {{ n|upper }}').render(n=name)}\n"
    )
    assert await sandbox_with_defaults.run("python3", code, {"name": "ada"}) == {"text": "Hi ADA"}


@pytest.mark.parametrize("module", ["kawa", "sqlalchemy", "pydantic", "fastapi", "six"])
async def test_kawa_and_its_other_dependencies_are_not_importable(
    sandbox_with_defaults: CodeSandbox, module: str
) -> None:
    with pytest.raises(CodeExecutionError, match=f"ModuleNotFoundError: No module named '{module}'"):
        await sandbox_with_defaults.run("python3", f"import {module}\ndef main():\n    return {{}}\n", {})


async def test_nothing_of_kawa_is_readable(
    sandbox_with_defaults: CodeSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "kawa.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table secret (value text)")
    os.chmod(tmp_path, 0o755)
    os.chmod(database, 0o644)
    monkeypatch.setenv("KAWA_SECRET_KEY", "do-not-leak")
    code = (
        "import os\n"
        "def main(paths):\n"
        "    leaked = [k for k in os.environ if k.startswith('KAWA')]\n"
        "    for path in paths:\n"
        "        try:\n"
        "            with open(path, 'rb') as handle:\n"
        "                leaked.append(path + ': ' + handle.read(20).hex())\n"
        "        except OSError:\n"
        "            pass\n"
        "    return {'leaked': leaked}\n"
    )
    paths = [KAWA_SOURCE, str(database), "/proc/self/environ", "/proc/1/environ", str(Path(KAWA_SOURCE).parent)]
    assert await sandbox_with_defaults.run("python3", code, {"paths": paths}) == {"leaked": []}


async def test_the_packages_cannot_be_modified(sandbox_with_defaults: CodeSandbox) -> None:
    code = "import requests\ndef main():\n    open(requests.__file__, 'a').write('x')\n"
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await sandbox_with_defaults.run("python3", code, {})


def kawa_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kawa.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
        check=False,
    )


async def test_kawa_sandbox_install_makes_an_extra_package_importable(tmp_path: Path) -> None:
    env = {"KAWA_SANDBOX__PACKAGES": f'["{EXTRA}"]', "KAWA_SANDBOX__ENVIRONMENT_DIR": str(tmp_path)}
    done = kawa_command("sandbox", "install", env=env)
    assert done.returncode == 0, done.stderr
    assert f"extra packages: {EXTRA}" in done.stdout and "requests" in done.stdout
    config = SandboxSettings(python_workers=1, javascript_workers=0, packages=[EXTRA], environment_dir=tmp_path)
    assert SandboxEnvironment.from_settings(config).is_ready()  # so the server will not install at start
    async with CodeSandbox(config) as sandbox:
        code = f"import {EXTRA}, requests\ndef main():\n    return {{'file': {EXTRA}.__file__}}\n"
        result = await sandbox.run("python3", code, {})
    assert result["file"].startswith(str(tmp_path))
    again = kawa_command("sandbox", "install", env=env)
    assert "already installed" in again.stdout


async def test_a_changed_package_list_is_installed_when_the_sandbox_starts(tmp_path: Path) -> None:
    config = SandboxSettings(python_workers=1, javascript_workers=0, packages=[EXTRA], environment_dir=tmp_path)
    assert not SandboxEnvironment.from_settings(config).is_ready()
    async with CodeSandbox(config) as sandbox:
        result = await sandbox.run("python3", f"import {EXTRA}\ndef main():\n    return {{'ok': 1}}\n", {})
    assert result == {"ok": 1}
    assert SandboxEnvironment.from_settings(config).is_ready()


async def test_a_package_list_pip_refuses_makes_python_unavailable_with_pips_reason(tmp_path: Path) -> None:
    config = SandboxSettings(
        python_workers=1, javascript_workers=0, packages=["six==not a version"], environment_dir=tmp_path
    )
    async with CodeSandbox(config) as sandbox:
        with pytest.raises(SandboxUnavailableError, match=r"Installing the sandbox packages six==not a version"):
            await sandbox.run("python3", "def main():\n    return {}\n", {})
    done = kawa_command(
        "sandbox",
        "install",
        env={"KAWA_SANDBOX__PACKAGES": '["six==not a version"]', "KAWA_SANDBOX__ENVIRONMENT_DIR": str(tmp_path)},
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: Installing the sandbox packages six==not a version failed:")


async def test_an_environment_dir_that_cannot_be_written_gives_a_clear_error(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    config = SandboxSettings(python_workers=1, javascript_workers=0, environment_dir=not_a_directory / "sandbox")
    async with CodeSandbox(config) as sandbox:
        with pytest.raises(SandboxUnavailableError, match="package environment cannot be written") as raised:
            await sandbox.run("python3", "def main():\n    return {}\n", {})
    assert str(tmp_path) not in raised.value.message


def test_as_root_the_default_environment_is_outside_roots_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    expected = Path("/var/cache/kawa/sandbox") if os.geteuid() == 0 else Path.home() / ".cache" / "kawa" / "sandbox"
    assert default_environment_dir() == expected
    monkeypatch.setenv("XDG_CACHE_HOME", "/srv/cache")
    assert default_environment_dir() == Path("/srv/cache/kawa/sandbox")


def test_the_environment_is_reachable_by_other_uids_whatever_the_umask() -> None:
    """Workers run as uids of their own: without namespaces they read the packages at their real path."""
    top = Path(tempfile.gettempdir()) / f"kawa-sandbox-test-{uuid.uuid4().hex}"
    previous = os.umask(0o077)
    try:
        site = SandboxEnvironment(top / "cache" / "sandbox").prepare()
    finally:
        os.umask(previous)
    try:
        assert world_traversable(str(site / "requests"))
        assert (site / "requests" / "__init__.py").stat().st_mode & 0o004
    finally:
        shutil.rmtree(top, ignore_errors=True)

"""The packages python3 code nodes may import: a dedicated directory ("site") the workers add to `sys.path`.

Like Dify's sandbox, code nodes get `requests`, `httpx`, `jinja2` and `PySocks` (`socks`) by default, plus any pip
requirements an operator lists in `SandboxSettings.packages`. The defaults are copied from kawa's own install (they
are kawa dependencies), so a fresh install needs no download; the extras are installed from the package registry
with `pip install --target`, by `kawa sandbox install` or at start when the list changed, never while a node runs.

Each combination of python version, default package versions and extra requirements gets a directory of its own
under `environment_dir`, named by a hash of the combination and complete once its `manifest.json` exists; it is
built next to it and renamed into place, under a lock, so processes sharing the directory never see half of one.
Nothing else of kawa's environment (its other dependencies, kawa itself) is in the site.
"""

from __future__ import annotations

import compileall
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from kawa.sandbox.errors import SandboxUnavailableError
from kawa.sandbox.settings import SandboxSettings

# Distributions code nodes may import by default (Dify's stock python-requirements), with their dependencies.
DEFAULT_DISTRIBUTIONS = ("requests", "httpx", "jinja2", "PySocks")
_log = logging.getLogger("kawa.sandbox")
MANIFEST = "manifest.json"
PIP_TIMEOUT_S = 900
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def default_environment_dir() -> Path:
    """`$XDG_CACHE_HOME/kawa/sandbox`, else `~/.cache/kawa/sandbox`; as root `/var/cache/kawa/sandbox`: workers
    switch to uids of their own, which must reach the packages even without namespaces, and root's home is
    usually closed to other uids."""
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "kawa" / "sandbox"
    if os.geteuid() == 0:
        return Path("/var/cache/kawa/sandbox")
    return Path(os.path.expanduser("~")) / ".cache" / "kawa" / "sandbox"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def default_distributions() -> list[importlib.metadata.Distribution]:
    """The default distributions and everything they require (extras and markers aside) that is installed."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(DEFAULT_DISTRIBUTIONS)
    while pending:
        name = _normalise(pending.pop())
        if name in found:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a marker-only dependency (e.g. for another python) or an uninstalled default
        found[name] = distribution
        for requirement in distribution.requires or []:
            match = _NAME.match(requirement)
            if match and "extra ==" not in requirement.replace('"', "").replace("'", ""):
                pending.append(match.group(1))
    return [found[name] for name in sorted(found)]


class SandboxEnvironment:
    """One sandbox site: the default packages plus `packages`, kept under `directory`."""

    def __init__(self, directory: Path, packages: Iterable[str] = ()) -> None:
        self.directory = directory
        self.packages = sorted({package.strip() for package in packages if package.strip()})
        self._defaults = default_distributions()
        self.key = self._key()

    @classmethod
    def from_settings(cls, config: SandboxSettings) -> SandboxEnvironment:
        return cls(config.environment_dir or default_environment_dir(), config.packages)

    @property
    def path(self) -> Path:
        return self.directory / self.key

    @property
    def site(self) -> Path:
        """The directory workers put on `sys.path`."""
        return self.path / "site"

    @property
    def default_packages(self) -> dict[str, str]:
        """Name and version of every distribution copied from kawa's install."""
        return {distribution.metadata["Name"]: distribution.version for distribution in self._defaults}

    def is_ready(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def manifest(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.path / MANIFEST).read_text())
        return data

    def prepare(self, log: Callable[[str], None] | None = None, *, force: bool = False) -> Path:
        """Build the site unless it exists (with `force`, build it anew); return it. Blocking (pip): call it from a
        thread in async code. Raises `SandboxUnavailableError` when the extra packages cannot be installed.
        """
        if self.is_ready() and not force:
            return self.site
        try:
            _make_reachable(self.directory)
            with self._lock():
                if self.is_ready() and not force:  # another process built it while we waited
                    return self.site
                staging = self.directory / f".{self.key}.building-{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                try:
                    self._build(staging, log or (lambda _: None))
                    shutil.rmtree(self.path, ignore_errors=True)
                    staging.rename(self.path)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:
            _log.error("cannot build the code sandbox's packages in %s: %s", self.directory, exc)
            raise SandboxUnavailableError(
                "The code sandbox's package environment cannot be written (see KAWA_SANDBOX__ENVIRONMENT_DIR)."
            ) from exc
        return self.site

    def stale(self) -> list[Path]:
        """Environments under `directory` other than this one (left by earlier package lists or versions)."""
        if not self.directory.is_dir():
            return []
        return [path for path in self.directory.iterdir() if path.is_dir() and path.name != self.key]

    def _key(self) -> str:
        identity = {
            "python": sys.implementation.cache_tag,
            "defaults": self.default_packages,
            "packages": self.packages,
        }
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        return f"{sys.implementation.cache_tag}-{digest}"

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _build(self, staging: Path, log: Callable[[str], None]) -> None:
        site = staging / "site"
        site.mkdir(parents=True)
        if self.packages:
            log(f"installing {', '.join(self.packages)} from the package registry")
            self._pip_install(site)
        for distribution in self._defaults:
            _copy_distribution(distribution, site)
        compileall.compile_dir(str(site), quiet=1, workers=1)
        _make_world_readable(staging)
        manifest = {"packages": self.packages, "defaults": self.default_packages, "python": sys.version.split()[0]}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        os.chmod(staging / MANIFEST, 0o644)

    def _pip_install(self, site: Path) -> None:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--target",
            str(site),
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--no-compile",
            *self.packages,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailableError(f"Installing the sandbox packages failed: {exc}") from exc
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.strip()]
            detail = errors[-1] if errors else f"pip exited with status {done.returncode}"
            raise SandboxUnavailableError(
                f"Installing the sandbox packages {', '.join(self.packages)} failed: {detail.strip()}"
            )


def _copy_distribution(distribution: importlib.metadata.Distribution, site: Path) -> None:
    """Copy an installed distribution's files (as its RECORD lists them) into `site`, unless pip already installed
    the same top-level names there (an extra package may need another version of a default one)."""
    root = Path(str(distribution.locate_file(""))).resolve()
    files: list[tuple[Path, Path]] = []
    for record in distribution.files or []:
        source = Path(str(distribution.locate_file(record))).resolve()
        try:
            relative = source.relative_to(root)
        except ValueError:
            continue  # scripts and data outside site-packages
        if "__pycache__" in relative.parts or not source.is_file():
            continue
        files.append((source, relative))
    top_level = {relative.parts[0] for _, relative in files if not relative.parts[0].endswith(".dist-info")}
    if any((site / name).exists() for name in top_level):
        return
    for source, relative in files:
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _make_reachable(directory: Path) -> None:
    """Create `directory` and its missing parents traversable by every uid, whatever the umask."""
    missing = [path for path in (directory, *directory.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        os.chmod(path, 0o755)


def _make_world_readable(top: Path) -> None:
    """Workers run as another uid: every directory must be traversable and every file readable by it."""
    for directory, _, names in os.walk(top):
        os.chmod(directory, 0o755)
        for name in names:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)

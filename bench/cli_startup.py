"""How quickly the `kawa` command answers: `import kawa.cli`, `kawa --help` and `kawa app list` (median of 5 runs,
on a fresh KAWA_HOME holding a few apps), and which heavy packages `kawa app list` still imports.

Wall time is what a user waits; CPU time (user + sys) is shown too because on a busy machine it moves less.

    .venv/bin/python bench/cli_startup.py          # target: `kawa app list` in 300 ms or less
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dsl"
APPS = ["chat-assistant.yml", "workflow-hello.yml", "workflow-files.yml"]
RUNS = 5
# Packages `kawa app list` has no use for: finding one of them imported means a lazy import was lost.
HEAVY = [
    "fastapi",
    "uvicorn",
    "starlette",
    "kawa.api",
    "kawa.services",
    "kawa.workflow.engine",
    "numpy",
    "openai",
    "anthropic",
    "alembic",
    "rich",
]
LIST_AND_REPORT = (
    "import sys\n"
    "from kawa.cli import cli\n"
    "try:\n"
    "    cli(['app', 'list'])\n"
    "except SystemExit:\n"
    "    pass\n"
    f"print('heavy imports:', sorted(m for m in {HEAVY!r} if m in sys.modules) or 'none', file=sys.stderr)\n"
)


def timed_runs(command: list[str], env: dict[str, str]) -> tuple[list[float], list[float]]:
    """(wall times, CPU times) of RUNS runs of `command`, in seconds."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def show(label: str, command: list[str], env: dict[str, str]) -> None:
    walls, cpus = timed_runs(command, env)
    runs = " ".join(f"{t * 1000:.0f}" for t in sorted(walls))
    print(
        f"{label:<18} wall median {statistics.median(walls) * 1000:5.0f} ms (runs: {runs})   "
        f"CPU median {statistics.median(cpus) * 1000:5.0f} ms"
    )


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env["KAWA_HOME"] = tempfile.mkdtemp(prefix="kawa-bench-cli-")
    kawa = [sys.executable, "-m", "kawa.cli"]
    for name in APPS:
        subprocess.run([*kawa, "app", "import", str(FIXTURES / name)], env=env, check=True, capture_output=True)
    show("python (nothing)", [sys.executable, "-c", "pass"], env)
    show("import kawa.cli", [sys.executable, "-c", "import kawa.cli"], env)
    show("kawa --help", [*kawa, "--help"], env)
    show("kawa app list", [*kawa, "app", "list"], env)
    report = subprocess.run(
        [sys.executable, "-c", LIST_AND_REPORT], env=env, check=True, capture_output=True, text=True
    )
    print(report.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

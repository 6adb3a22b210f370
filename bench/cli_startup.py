"""How quickly the `kawa` command answers: `import kawa.cli`, `kawa --help` and `kawa app list` (wall time, median
of 5 runs, on a fresh KAWA_HOME holding a few apps), and which heavy packages `kawa app list` still imports.

    .venv/bin/python bench/cli_startup.py          # target: `kawa app list` in 300 ms or less
"""

from __future__ import annotations

import os
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


def wall_times(command: list[str], env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def show(label: str, times: list[float]) -> None:
    runs = " ".join(f"{t * 1000:.0f}" for t in sorted(times))
    print(f"{label:<22} median {statistics.median(times) * 1000:6.0f} ms   (runs, ms: {runs})")


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env["KAWA_HOME"] = tempfile.mkdtemp(prefix="kawa-bench-cli-")
    kawa = [sys.executable, "-m", "kawa.cli"]
    for name in APPS:
        subprocess.run([*kawa, "app", "import", str(FIXTURES / name)], env=env, check=True, capture_output=True)
    show("python (nothing)", wall_times([sys.executable, "-c", "pass"], env))
    show("import kawa.cli", wall_times([sys.executable, "-c", "import kawa.cli"], env))
    show("kawa --help", wall_times([*kawa, "--help"], env))
    show("kawa app list", wall_times([*kawa, "app", "list"], env))
    report = subprocess.run(
        [sys.executable, "-c", LIST_AND_REPORT], env=env, check=True, capture_output=True, text=True
    )
    print(report.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

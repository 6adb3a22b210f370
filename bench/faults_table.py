"""Run the fault suite (tests/faults) and print its table: scenario → records stuck / lost / leaked, client outcome.

    .venv/bin/python bench/faults_table.py                       # against this tree
    .venv/bin/python bench/faults_table.py --tree /tmp/before    # against another checkout (e.g. a git worktree of
                                                                 # an older commit): the suite and the test helpers it
                                                                 # uses are copied into it first

Each scenario appends its report to the file named by KAWA_FAULTS_REPORT (see tests/faults/invariants.py); this
script only runs pytest with that variable set and formats what the scenarios recorded."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COPIED = ["tests/faults", "tests/fakes/openai_server.py", "tests/support/redis_server.py", "tests/support/tcp_proxy.py"]


def _copy_suite(tree: Path) -> None:
    for relative in COPIED:
        source, target = REPO / relative, tree / relative
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _cell(items: list[str]) -> str:
    return str(len(items))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose kawa is tested")
    parser.add_argument("-k", default="", help="pytest -k expression, to run some scenarios only")
    args = parser.parse_args()
    tree = args.tree.resolve()
    if tree != REPO:
        _copy_suite(tree)
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "faults.jsonl"
        env = {**os.environ, "KAWA_FAULTS_REPORT": str(report_path), "PYTHONPATH": str(tree)}
        command = [sys.executable, "-m", "pytest", "tests/faults", "-q", "-p", "no:cacheprovider"]
        if args.k:
            command += ["-k", args.k]
        started = time.monotonic()
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
        failures = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        rows = [json.loads(line) for line in report_path.read_text().splitlines()] if report_path.exists() else []
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True)
    load = os.getloadavg()
    print(f"fault suite against {tree} ({commit.stdout.strip()}): {summary}; {elapsed:.0f} s")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print("| scenario | clients | stuck | lost | leaked | no terminal | other | client outcome |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [row["scenario"], str(row["clients"])]
        cells += [_cell(row[k]) for k in ("stuck", "lost", "leaked", "unfinished", "problems")]
        print("| " + " | ".join([*cells, row["outcomes"]]) + " |")
    print()
    for row in rows:
        for title, key in (
            ("stuck", "stuck"),
            ("lost", "lost"),
            ("leaked", "leaked"),
            ("no terminal", "unfinished"),
            ("", "problems"),
        ):
            for item in row[key][:3]:
                print(f"- {row['scenario']}: {title + ': ' if title else ''}{item[:220]}")
    recorded = {row["scenario"] for row in rows}
    print(f"\n{len(failures)} failing test(s) ({len(recorded)} scenarios recorded a report):")
    for line in failures:
        print("  " + line[:400])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())

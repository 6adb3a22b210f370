"""Lease benchmark: what keeping records honest costs a process per renewal period.

Prints, on a SQLite file and (when reachable) a fresh PostgreSQL database, for N running runs held by one process:
the time of one renewal (one UPDATE for all N), and of one reaping pass that finds nothing (what every process pays
every period) and one that marks N lapsed runs failed. Run: `python bench/leases.py [--runs 10 100 1000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.databases import fresh_postgres_database, postgres_available  # noqa: E402

from kawa.dsl import load_dsl  # noqa: E402
from kawa.services import open_services  # noqa: E402
from kawa.settings import Settings  # noqa: E402
from kawa.store.clock import new_id  # noqa: E402
from kawa.store.database import Database  # noqa: E402
from kawa.store.leases import LeaseSettings, RecordLeases  # noqa: E402
from kawa.workflow.graph import compile_graph  # noqa: E402

APP = ROOT / "tests" / "fixtures" / "dsl" / "workflow-hello.yml"
ROUNDS = 20


async def measure(database_url: str, home: Path, counts: list[int]) -> None:
    async with open_services(Settings(home=home, database_url=database_url)) as services:  # migrates, makes an app
        app, _ = await services.apps.create(load_dsl(APP.read_text(), check_graph=compile_graph))
    db = Database(database_url)
    leases = RecordLeases(db, LeaseSettings(), owner="bench")
    try:
        for count in counts:
            ids = [new_id() for _ in range(count)]
            now = time.time()
            async with db.write() as conn:
                await conn.execute(
                    sa.text(
                        "INSERT INTO workflow_runs (id, app_id, workflow_id, task_id, sequence_number, version, "
                        "triggered_from, status, inputs, elapsed_time, total_tokens, total_steps, exceptions_count, "
                        "owner_pid, lease_expires_at, created_at) VALUES (:id, :app, 'w', 't', 0, '1', 'app-run', "
                        "'running', '{}', 0, 0, 0, 0, 'bench', :lease, :now)"
                    ),
                    [{"id": i, "app": app.id, "lease": now + 60, "now": now} for i in ids],
                )
            leases.runs = set(ids)
            renew, idle_reap = [], []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                await leases.renew()
                renew.append(time.perf_counter() - started)
                started = time.perf_counter()
                await leases.reap()
                idle_reap.append(time.perf_counter() - started)
            async with db.write() as conn:  # every lease lapses: the next pass marks them all
                await conn.execute(sa.text("UPDATE workflow_runs SET lease_expires_at = 0 WHERE owner_pid = 'bench'"))
            started = time.perf_counter()
            reaped = await leases.reap()
            full_reap = time.perf_counter() - started
            assert len(reaped.runs) == count
            print(
                f"  {count:>5} runs held: renew {statistics.median(renew) * 1000:7.2f} ms   "
                f"reap (none lapsed) {statistics.median(idle_reap) * 1000:7.2f} ms   "
                f"reap ({count} lapsed) {full_reap * 1000:8.2f} ms"
            )
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as sqlite_dir:
        targets = [("SQLite", f"sqlite+aiosqlite:///{sqlite_dir}/kawa.db")]
        postgres = contextlib.ExitStack()
        with postgres:
            if (problem := postgres_available()) is None:
                targets.append(("PostgreSQL", postgres.enter_context(fresh_postgres_database())))
            else:
                print(f"PostgreSQL skipped: {problem}")
            for name, url in targets:
                print(f"{name}:")
                with tempfile.TemporaryDirectory() as home:
                    asyncio.run(measure(url, Path(home), args.runs))


if __name__ == "__main__":
    main()

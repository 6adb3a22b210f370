"""`kawa runs` (recent runs of every app), `kawa runs show RUN` (one run's node timeline) and `kawa logs` (follow
runs as they happen: each run as it starts, its nodes as they end, how it ended). They read the database the
settings name — a running server's too, while it writes — and never change it (no migration either)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from kawa.cli.invocation import run_async

if TYPE_CHECKING:
    from kawa.store.run_views import NodeStep, RunSummary, RunViews

runs_cli = typer.Typer(help="Runs recorded in the database: list, show one, follow.", invoke_without_command=True)
MARKS = {"succeeded": "✓", "failed": "✗", "stopped": "■", "partial-succeeded": "◐", "exception": "!", "running": "…"}
BAR_WIDTH = 40


@asynccontextmanager
async def open_views() -> AsyncIterator[RunViews]:
    from kawa.settings import Settings
    from kawa.store.database import Database
    from kawa.store.run_views import RunViews

    settings = Settings()
    db = Database(settings.resolved_database_url, settings.database)
    try:
        yield RunViews(db)
    finally:
        await db.dispose()


def short(run_id: str) -> str:
    return run_id[:8]


def clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def run_line(run: RunSummary) -> str:
    took = duration(run.elapsed_time) if run.status != "running" else f"{run.nodes_done} node(s) done"
    return (
        f"{short(run.id):8}  {run.app_name[:24]:24}  {MARKS.get(run.status, '?')} {run.status:17}  "
        f"{clock(run.created_at)}  {took:>12}  {run.total_steps:>5}  {run.total_tokens:>7}"
    )


@runs_cli.callback()
def runs_list(
    ctx: typer.Context,
    app: Annotated[str | None, typer.Option("--app", help="Only this app's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many (newest first).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """The newest runs of every app (workflow and chatflow), with their status and node progress."""
    if ctx.invoked_subcommand is not None:
        return

    async def work() -> list[RunSummary]:
        async with open_views() as views:
            return await views.recent(app_id=app, limit=limit)

    runs = run_async(work)
    if as_json:
        for run in runs:
            typer.echo(json.dumps(asdict(run)))
        return
    typer.echo(f"{'RUN':8}  {'APP':24}  {'STATUS':19}  {'STARTED':19}  {'TIME':>12}  {'STEPS':>5}  {'TOKENS':>7}")
    for run in runs:
        typer.echo(run_line(run))


@runs_cli.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id, or its first characters as `kawa runs` shows them.")],
    as_json: Annotated[bool, typer.Option("--json", help="The run and its nodes as JSON.")] = False,
) -> None:
    """One run's node timeline: when each node started (from the run's start), how long it took, how it ended."""

    async def work() -> tuple[RunSummary | None, list[NodeStep]]:
        async with open_views() as views:
            run = await views.run(run_id)
            return run, (await views.timeline(run.id) if run is not None else [])

    run, steps = run_async(work)
    if run is None:
        typer.echo(f"error: no run (or more than one) with id {run_id}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"run": asdict(run), "nodes": [asdict(step) for step in steps]}))
        return
    typer.echo(
        f"run {run.id} of {run.app_name} ({run.app_id}): {run.status} in {duration(run.elapsed_time)}, "
        f"{run.total_steps} steps, {run.total_tokens} tokens, task {run.task_id}"
    )
    if run.error:
        typer.echo(f"error: {run.error}")
    for line in timeline_lines(run, steps):
        typer.echo(line)


def timeline_lines(run: RunSummary, steps: list[NodeStep]) -> list[str]:
    end = max([run.finished_at or time.time(), *(s.finished_at or s.created_at for s in steps)])
    span = max(end - run.created_at, 1e-6)
    lines = []
    for step in steps:
        offset = max(0.0, step.created_at - run.created_at)
        begin = int(offset / span * BAR_WIDTH)
        width = max(1, int(step.elapsed_time / span * BAR_WIDTH))
        bar = " " * begin + "█" * min(width, BAR_WIDTH - begin if begin < BAR_WIDTH else 1)
        indent = "  " if step.iteration_id or step.loop_id else ""
        lines.append(
            f"  +{duration(offset):>10}  {MARKS.get(step.status, '?')} {indent}{(step.title or step.node_id)[:28]:28} "
            f"{step.node_type[:18]:18} {duration(step.elapsed_time):>10}  |{bar:{BAR_WIDTH}}|"
            + (f"  {step.error[:80]}" if step.error else "")
        )
    return lines


def logs(
    app: Annotated[str | None, typer.Option("--app", help="Only this app's runs.")] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between looks.")] = 0.5,
    follow_for: Annotated[
        float | None, typer.Option("--for", min=0, help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Follow runs as they happen: each run as it starts, its nodes as they end, and how it ended."""
    with suppress(KeyboardInterrupt):  # Ctrl-C ends following quietly
        run_async(lambda: _follow(app, interval, follow_for))


async def _follow(app: str | None, interval: float, follow_for: float | None) -> None:
    started = time.time()
    seen_status: dict[str, str] = {}
    seen_nodes: dict[str, set[str]] = {}
    async with open_views() as views:
        since = started
        while follow_for is None or time.time() - started < follow_for:
            looked_at = time.time()
            for run in reversed(await views.recent(app_id=app, limit=200, changed_since=since - interval)):
                if run.id not in seen_status and run.finished_at is not None and run.finished_at < started:
                    continue  # it ended before following began (the look-back slack brought it in)
                await _report(views, run, seen_status, seen_nodes)
            since = looked_at
            if len(seen_status) > 10_000:  # only runs changed lately come back: forget the ended ones
                for run_id in [r for r, status in seen_status.items() if status != "running"]:
                    del seen_status[run_id]
            await asyncio.sleep(interval)


async def _report(
    views: RunViews, run: RunSummary, seen_status: dict[str, str], seen_nodes: dict[str, set[str]]
) -> None:
    before = seen_status.get(run.id)
    if before == run.status and run.status != "running":
        return
    if before is None:
        typer.echo(f"{clock(run.created_at)} ▶ {short(run.id)} {run.app_name} started (task {short(run.task_id)})")
    done = seen_nodes.setdefault(run.id, set())
    for step in await views.timeline(run.id):
        if step.status != "running" and step.id not in done:
            done.add(step.id)
            detail = f"  {step.error[:80]}" if step.error else ""
            typer.echo(
                f"           {MARKS.get(step.status, '?')} {short(run.id)} {step.title or step.node_id} "
                f"({step.node_type}) {duration(step.elapsed_time)}{detail}"
            )
    if run.status != "running":
        detail = f": {run.error[:120]}" if run.error else ""
        typer.echo(
            f"{clock(run.finished_at or run.created_at)} {MARKS.get(run.status, '?')} {short(run.id)} {run.app_name} "
            f"{run.status} in {duration(run.elapsed_time)}, {run.total_steps} steps, {run.total_tokens} tokens{detail}"
        )
        seen_nodes.pop(run.id, None)
    seen_status[run.id] = run.status

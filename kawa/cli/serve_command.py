"""`kawa serve`: the HTTP server (the Service API under /v1). The server stack is imported only here.

With `--workers 1` it is one process (uvicorn with `DrainingServer`); with more, a parent (`worker_pool`) binds the
port, migrates the database and imports the example once, then runs that many worker processes (`worker_server`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kawa.cli.invocation import Stores, with_stores

if TYPE_CHECKING:
    from kawa.settings import Settings

EXAMPLE_APP = Path(__file__).resolve().parent.parent / "examples" / "hello-workflow.yml"


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: KAWA_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: KAWA_PORT or 5001).")] = None,
    example: Annotated[bool, typer.Option("--example", help="Import the example app (once) and print a key.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes sharing the port (default: the number of cores; 1 = one process)."),
    ] = None,
) -> None:
    """Run the server (the Service API is under /v1, the console at /console)."""
    import uvicorn

    from kawa.settings import Settings

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = Settings(**overrides)
    if example:
        app_id, key = with_stores(ensure_example)
        typer.echo(f"example app: {app_id}\nAPI key:     {key}")
    typer.echo(f"base URL:    {settings.base_url}/v1")
    count = workers if workers is not None else default_workers()
    if count > 1:
        raise typer.Exit(serve_workers(settings, count, overrides))
    from kawa.cli.draining_server import DrainingServer
    from kawa.cli.log_setup import server_log_config
    from kawa.cli.server_app import create_server_app

    app = create_server_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=server_log_config(settings),  # JSON or plain lines with request/run ids, secrets masked
        timeout_graceful_shutdown=5,  # after the runs' own deadline: their streams have ended by then
    )
    DrainingServer(config, app=app, grace_s=settings.shutdown_grace_s).run()


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def serve_workers(settings: Settings, count: int, overrides: dict[str, Any]) -> int:
    """Bind the port once, migrate once (while the workers start), then run `count` workers until a signal; the
    exit status."""
    import logging

    from kawa.cli.worker_pool import WorkerPool, bind
    from kawa.telemetry.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:     %(message)s")  # the parent's
    if not os.environ.get(MULTIPROC_ENV):  # /metrics of any worker then sums every worker's values
        prepare_multiprocess_dir(settings.home / "prometheus")
    try:
        listener = bind(settings.host, settings.port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", err=True)
        return 1
    for name, value in overrides.items():  # the workers read their settings from the environment
        os.environ[f"KAWA_{name.upper()}"] = str(value)
    typer.echo(f"workers:     {count}")
    pool = WorkerPool(
        listener,
        count,
        grace_s=settings.shutdown_grace_s,
        sandbox_uid=settings.sandbox.sandbox_uid,
        prepare=lambda: with_stores(_migrated),  # while the workers import; they open the database after it
    )
    return pool.run()


async def _migrated(stores: Stores) -> None:
    """Nothing more: opening the stores brought the schema up to date."""


async def ensure_example(stores: Stores) -> tuple[str, str]:
    """The example app (imported on first use, found by name afterwards) and a new key for it."""
    from kawa.dsl import load_dsl
    from kawa.workflow.graph import compile_graph

    doc = load_dsl(EXAMPLE_APP.read_text(), check_graph=compile_graph)
    existing = [a for a in await stores.apps.list() if a.name == doc.name]
    app = existing[0] if existing else (await stores.apps.create(doc))[0]
    _, token = await stores.keys.create(app.id)
    return app.id, token

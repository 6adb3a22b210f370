"""`kawa serve`: the HTTP server (the Service API under /v1). The server stack is imported only here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kawa.cli.invocation import Stores, with_stores

EXAMPLE_APP = Path(__file__).resolve().parent.parent / "examples" / "hello-workflow.yml"


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: KAWA_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: KAWA_PORT or 5001).")] = None,
    example: Annotated[bool, typer.Option("--example", help="Import the example app (once) and print a key.")] = False,
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
    from kawa.cli.draining_server import DrainingServer
    from kawa.cli.server_app import create_server_app

    app = create_server_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,  # after the runs' own deadline: their streams have ended by then
    )
    DrainingServer(config, app=app, grace_s=settings.shutdown_grace_s).run()


async def ensure_example(stores: Stores) -> tuple[str, str]:
    """The example app (imported on first use, found by name afterwards) and a new key for it."""
    from kawa.dsl import load_dsl
    from kawa.workflow.graph import compile_graph

    doc = load_dsl(EXAMPLE_APP.read_text(), check_graph=compile_graph)
    existing = [a for a in await stores.apps.list() if a.name == doc.name]
    app = existing[0] if existing else (await stores.apps.create(doc))[0]
    _, token = await stores.keys.create(app.id)
    return app.id, token

"""The `kawa` command: serve, app, key, db (and run, for workflows from the terminal)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kawa.dsl import export_dsl, load_dsl
from kawa.errors import KawaError
from kawa.knowledge.references import dataset_references, missing_dataset_warnings
from kawa.services import Services, open_services
from kawa.settings import Settings

T = TypeVar("T")
EXAMPLE_APP = Path(__file__).parent / "examples" / "hello-workflow.yml"

cli = typer.Typer(help="kawa: a self-hosted LLM app server that speaks the Dify Service API.", no_args_is_help=True)
app_cli = typer.Typer(help="Import, list, export and delete apps.", no_args_is_help=True)
key_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(app_cli, name="app")
cli.add_typer(key_cli, name="key")
cli.add_typer(db_cli, name="db")


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    async def main() -> T:
        async with open_services(Settings()) as services:
            return await work(services)

    try:
        return asyncio.run(main())
    except KawaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload) if as_json else text)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: KAWA_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: KAWA_PORT or 5001).")] = None,
    example: Annotated[bool, typer.Option("--example", help="Import the example app (once) and print a key.")] = False,
) -> None:
    """Run the server (the Service API is under /v1)."""
    import uvicorn

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = Settings(**overrides)
    if example:
        app_id, key = _with_services(lambda s: _ensure_example(s))
        typer.echo(f"example app: {app_id}\nAPI key:     {key}")
    typer.echo(f"base URL:    {settings.base_url}/v1")
    from kawa.api.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )


async def _ensure_example(services: Services) -> tuple[str, str]:
    doc = load_dsl(EXAMPLE_APP.read_text())
    existing = [a for a in await services.apps.list() if a.name == doc.name]
    app = existing[0] if existing else (await services.apps.create(doc))[0]
    _, token = await services.keys.create(app.id)
    return app.id, token


@app_cli.command("import")
def app_import(
    file: Annotated[Path, typer.Argument(help="A Dify app export (DSL YAML).", exists=True, dir_okay=False)],
    app: Annotated[str | None, typer.Option("--app", help="Publish as a new version of this app.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {app_id, api_key} (and version) as JSON.")] = False,
    force: Annotated[bool, typer.Option(help="Import a DSL newer than kawa knows.")] = False,
) -> None:
    """Import a Dify DSL file as a new app (with an API key), or as a new version of --app."""

    async def work(services: Services) -> None:
        doc = load_dsl(file.read_bytes(), allow_newer=force)
        missing = await services.knowledge.missing_datasets(dataset_references(doc.document))
        for warning in [*doc.warnings, *missing_dataset_warnings(doc.document, missing)]:
            typer.echo(f"warning: {warning}", err=True)
        if app is None:
            record, version = await services.apps.create(doc)
            _, token = await services.keys.create(record.id)
            _emit(
                {"app_id": record.id, "api_key": token, "workflow_id": version.id},
                as_json,
                f"app_id:      {record.id}\napi_key:     {token}\nworkflow_id: {version.id}  (version 1)",
            )
        else:
            record, version = await services.apps.publish(app, doc)
            _emit(
                {"app_id": record.id, "workflow_id": version.id, "version": version.number},
                as_json,
                f"app_id:      {record.id}\nworkflow_id: {version.id}  (version {version.number})",
            )

    _with_services(work)


@app_cli.command("list")
def app_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List apps."""

    async def work(services: Services) -> None:
        apps = await services.apps.list()
        rows = [{"id": a.id, "name": a.name, "mode": a.mode, "current_version_id": a.current_version_id} for a in apps]
        if as_json:
            typer.echo(json.dumps(rows))
            return
        for row in rows:
            typer.echo(f"{row['id']}  {row['mode']:<13} {row['name']}")

    _with_services(work)


@app_cli.command("export")
def app_export(
    app_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    version: Annotated[str | None, typer.Option(help="A version (workflow) id; default: the current one.")] = None,
    include_secret: Annotated[bool, typer.Option(help="Keep secret environment variable values.")] = False,
) -> None:
    """Write an app back out as Dify DSL YAML."""

    async def work(services: Services) -> str:
        record = await services.apps.get(app_id)
        if record is None:
            raise KawaError(f"no app {app_id}")
        chosen = await services.apps.version(version) if version else await services.apps.current_version(record)
        if chosen is None or chosen.app_id != record.id:
            raise KawaError(f"no version {version} of app {app_id}")
        return export_dsl(chosen.document, include_secret=include_secret)

    text = _with_services(work)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


@app_cli.command("delete")
def app_delete(app_id: str) -> None:
    """Delete an app with its versions, keys, runs and files."""
    if not _with_services(lambda s: s.apps.delete(app_id)):
        typer.echo(f"error: no app {app_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"deleted {app_id}")


@key_cli.command("create")
def key_create(
    app_id: Annotated[str | None, typer.Argument(help="The app the key is for (not with --dataset).")] = None,
    dataset: Annotated[
        bool, typer.Option("--dataset", help="A Knowledge API key (`dataset-...`): it sees every dataset.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key for an app, or a Knowledge API key with --dataset. The key is shown once."""

    async def work(services: Services) -> None:
        if dataset:
            if app_id is not None:
                raise KawaError("a --dataset key belongs to no app: leave out APP_ID")
            key, token = await services.keys.create(None, type="dataset")
            _emit({"id": key.id, "type": "dataset", "api_key": token}, as_json, f"key id:  {key.id}\napi_key: {token}")
            return
        if app_id is None:
            raise KawaError("give the APP_ID, or --dataset for a Knowledge API key")
        if await services.apps.get(app_id) is None:
            raise KawaError(f"no app {app_id}")
        key, token = await services.keys.create(app_id)
        _emit({"id": key.id, "app_id": app_id, "api_key": token}, as_json, f"key id:  {key.id}\napi_key: {token}")

    _with_services(work)


@key_cli.command("list")
def key_list(
    app_id: Annotated[str | None, typer.Argument(help="Only this app's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List keys (never the keys themselves: their last 4 characters)."""

    async def work(services: Services) -> None:
        keys = await services.keys.list(app_id)
        rows = [
            {
                "id": k.id,
                "app_id": k.app_id,
                "type": k.type,
                "hint": f"…{k.hint}",
                "revoked": k.revoked_at is not None,
                "last_used_at": k.last_used_at,
            }
            for k in keys
        ]
        if as_json:
            typer.echo(json.dumps(rows))
            return
        for row in rows:
            state = "revoked" if row["revoked"] else "active"
            typer.echo(f"{row['id']}  {row['app_id'] or '(dataset key)'}  {row['hint']}  {state}")

    _with_services(work)


@key_cli.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke a key; requests with it fail from now on."""
    if not _with_services(lambda s: s.keys.revoke(key_id)):
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (also done automatically at start)."""

    async def work(_: Services) -> None:
        return None

    _with_services(work)
    typer.echo("database is at the newest schema")


@cli.command("run")
def run_workflow(
    file: Annotated[Path, typer.Argument(help="A workflow app export (DSL YAML).", exists=True, dir_okay=False)],
    inputs: Annotated[list[str] | None, typer.Option("-i", "--input", help="name=value (JSON, or @file).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the final result as JSON.")] = False,
) -> None:
    """Run a workflow from the terminal, without a server: node progress live, outputs at the end."""
    from kawa.apps.local_run import parse_cli_inputs, run_document
    from kawa.apps.wire import jsonable
    from kawa.models.registry import ModelRuntime
    from kawa.services import build_node_services
    from kawa.workflow import events as ev
    from kawa.workflow.runtime import EngineLimits

    settings = Settings()
    limits = EngineLimits(
        max_steps=settings.workflow.max_steps,
        max_wall_time_s=settings.workflow.max_wall_time_s,
        max_depth=settings.workflow.max_depth,
    )

    async def main() -> dict[str, Any]:
        doc = load_dsl(file.read_bytes())
        result: dict[str, Any] = {}
        streamed = False
        models = ModelRuntime(settings.models)
        try:
            async with build_node_services(settings, models) as services:
                async for event in run_document(doc, parse_cli_inputs(inputs or []), services, limits):
                    if isinstance(event, ev.WorkflowFinished):
                        result = {
                            "status": event.status,
                            "outputs": jsonable(event.outputs),
                            "error": event.error,
                            "elapsed_time": round(event.elapsed_time, 6),
                            "total_steps": event.total_steps,
                            "total_tokens": event.total_tokens,
                        }
                    elif as_json:
                        continue
                    elif isinstance(event, ev.NodeStarted):
                        typer.echo(f"▶ {event.title or event.node_id} ({event.node_type})", err=True)
                    elif isinstance(event, ev.NodeFinished):
                        mark = {"succeeded": "✔", "exception": "!", "stopped": "■"}.get(event.status, "✘")
                        detail = f": {event.error}" if event.error else ""
                        typer.echo(
                            f"{mark} {event.title or event.node_id} {event.elapsed_time * 1000:.1f} ms{detail}",
                            err=True,
                        )
                    elif isinstance(event, ev.TextChunk):
                        streamed = True
                        typer.echo(event.text, nl=False)
        finally:
            await models.aclose()
        if streamed:
            typer.echo("")
        return result

    try:
        result = asyncio.run(main())
    except KawaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
        raise typer.Exit(130) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(json.dumps(result["outputs"], ensure_ascii=False, indent=2))
        typer.echo(
            f"{result['status']} in {result['elapsed_time'] * 1000:.1f} ms, {result['total_steps']} steps", err=True
        )
        if result.get("error"):
            typer.echo(f"error: {result['error']}", err=True)
    if result.get("status") not in ("succeeded", "partial-succeeded"):
        raise typer.Exit(1)


@cli.command("settings")
def settings_table() -> None:
    """Print every setting (env var, default, meaning) as a Markdown table."""
    from kawa.settings import settings_markdown

    typer.echo(settings_markdown(), nl=False)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

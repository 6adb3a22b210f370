"""`kawa app ...`: import, list, export and delete apps (Dify DSL YAML in and out)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kawa.cli.invocation import Stores, emit, with_stores
from kawa.cli.mcp_command import app_mcp
from kawa.errors import KawaError

app_cli = typer.Typer(help="Import, list, export and delete apps.", no_args_is_help=True)
app_cli.command("mcp")(app_mcp)


@app_cli.command("import")
def app_import(
    file: Annotated[Path, typer.Argument(help="A Dify app export (DSL YAML).", exists=True, dir_okay=False)],
    app: Annotated[str | None, typer.Option("--app", help="Publish as a new version of this app.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {app_id, api_key, warnings} (and version) as JSON.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Import a DSL newer than kawa knows.")] = False,
) -> None:
    """Import a Dify DSL file as a new app (with an API key), or as a new version of --app."""
    from kawa.apps.import_check import unrunnable_warnings
    from kawa.dsl import load_dsl
    from kawa.knowledge.references import dataset_references, missing_dataset_warnings
    from kawa.models.registry import ModelRuntime
    from kawa.settings import Settings
    from kawa.store.datasets import DatasetStore
    from kawa.workflow.graph import compile_graph

    source = file.read_bytes()

    async def work(stores: Stores) -> None:
        doc = load_dsl(source, check_graph=compile_graph, allow_newer=force)
        wanted = dataset_references(doc.document)
        found = await DatasetStore(stores.db).find(wanted)
        missing = [d for d in wanted if d not in found]
        models = ModelRuntime(Settings().models)  # only resolves names: no model is loaded or called
        try:
            unrunnable = unrunnable_warnings(doc, models)
        finally:
            await models.aclose()
        warnings = [*doc.warnings, *missing_dataset_warnings(doc.document, missing), *unrunnable]
        for warning in warnings:
            typer.echo(f"warning: {warning}", err=True)
        if app is None:
            record, version = await stores.apps.create(doc)
            _, token = await stores.keys.create(record.id)
            emit(
                {"app_id": record.id, "api_key": token, "workflow_id": version.id, "warnings": warnings},
                as_json,
                f"app_id:      {record.id}\napi_key:     {token}\nworkflow_id: {version.id}  (version 1)",
            )
        else:
            record, version = await stores.apps.publish(app, doc)
            emit(
                {"app_id": record.id, "workflow_id": version.id, "version": version.number, "warnings": warnings},
                as_json,
                f"app_id:      {record.id}\nworkflow_id: {version.id}  (version {version.number})",
            )

    with_stores(work)


@app_cli.command("list")
def app_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List apps."""

    async def work(stores: Stores) -> None:
        apps = await stores.apps.list()
        rows = [{"id": a.id, "name": a.name, "mode": a.mode, "current_version_id": a.current_version_id} for a in apps]
        if as_json:
            typer.echo(json.dumps(rows))
            return
        for row in rows:
            typer.echo(f"{row['id']}  {row['mode']:<13} {row['name']}")

    with_stores(work)


@app_cli.command("export")
def app_export(
    app_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    version: Annotated[str | None, typer.Option(help="A version (workflow) id; default: the current one.")] = None,
    include_secret: Annotated[bool, typer.Option(help="Keep secret environment variable values.")] = False,
) -> None:
    """Write an app back out as Dify DSL YAML."""
    from kawa.dsl import export_dsl

    async def work(stores: Stores) -> str:
        record = await stores.apps.get(app_id)
        if record is None:
            raise KawaError(f"no app {app_id}")
        chosen = await stores.apps.version(version) if version else await stores.apps.current_version(record)
        if chosen is None or chosen.app_id != record.id:
            raise KawaError(f"no version {version} of app {app_id}")
        return export_dsl(chosen.document, include_secret=include_secret)

    text = with_stores(work)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


@app_cli.command("delete")
def app_delete(app_id: str) -> None:
    """Delete an app with its versions, keys, runs and files."""
    if not with_stores(lambda stores: stores.apps.delete(app_id)):
        typer.echo(f"error: no app {app_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"deleted {app_id}")

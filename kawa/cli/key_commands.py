"""`kawa key ...`: create, list and revoke API keys (app keys, and Knowledge API `dataset-` keys)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kawa.cli.invocation import Stores, emit, with_stores
from kawa.errors import KawaError

key_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@key_cli.command("create")
def key_create(
    app_id: Annotated[str | None, typer.Argument(help="The app the key is for (not with --dataset).")] = None,
    dataset: Annotated[
        bool, typer.Option("--dataset", help="A Knowledge API key (`dataset-...`): it sees every dataset.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key for an app, or a Knowledge API key with --dataset. The key is shown once."""

    async def work(stores: Stores) -> None:
        if dataset:
            if app_id is not None:
                raise KawaError("a --dataset key belongs to no app: leave out APP_ID")
            key, token = await stores.keys.create(None, type="dataset")
            emit({"id": key.id, "type": "dataset", "api_key": token}, as_json, f"key id:  {key.id}\napi_key: {token}")
            return
        if app_id is None:
            raise KawaError("give the APP_ID, or --dataset for a Knowledge API key")
        if await stores.apps.get(app_id) is None:
            raise KawaError(f"no app {app_id}")
        key, token = await stores.keys.create(app_id)
        emit({"id": key.id, "app_id": app_id, "api_key": token}, as_json, f"key id:  {key.id}\napi_key: {token}")

    with_stores(work)


@key_cli.command("list")
def key_list(
    app_id: Annotated[str | None, typer.Argument(help="Only this app's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List keys (never the keys themselves: their last 4 characters)."""

    async def work(stores: Stores) -> None:
        keys = await stores.keys.list(app_id)
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

    with_stores(work)


@key_cli.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke a key; requests with it fail from now on."""
    if not with_stores(lambda stores: stores.keys.revoke(key_id)):
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")

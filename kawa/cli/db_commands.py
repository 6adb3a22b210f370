"""`kawa db upgrade`: bring the database to the newest schema (the server and every command also do it first)."""

from __future__ import annotations

import typer

from kawa.cli.invocation import Stores, with_stores

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (also done automatically at start)."""

    async def work(_: Stores) -> None:
        return None

    with_stores(work)
    typer.echo("database is at the newest schema")

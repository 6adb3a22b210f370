"""`kawa db upgrade` (bring the database to the newest schema; the server and every command also do it first) and
`kawa db backup FILE` (a consistent copy of a SQLite database while the server runs; PostgreSQL: pg_dump)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kawa.cli.invocation import Stores, with_stores

db_cli = typer.Typer(help="Database schema and backups.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (also done automatically at start)."""

    async def work(_: Stores) -> None:
        return None

    with_stores(work)
    typer.echo("database is at the newest schema")


@db_cli.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="The file to write the copy to.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Copy the SQLite database with SQLite's online backup (safe while kawa serves), then check the copy reads.

    PostgreSQL databases are backed up with pg_dump: the command prints how."""
    from sqlalchemy.engine import make_url

    from kawa.settings import Settings
    from kawa.store.backup import BackupError, backup_sqlite, pg_dump_command

    url = make_url(Settings().resolved_database_url)
    if url.get_backend_name() != "sqlite":
        typer.echo(
            "kawa db backup copies SQLite databases. This one is PostgreSQL: back it up with pg_dump, e.g.\n\n"
            f"  {pg_dump_command(url, target)}\n\n"
            "(the password from PGPASSWORD or ~/.pgpass; restore with pg_restore --clean --dbname=...)",
            err=True,
        )
        raise typer.Exit(2)
    if target.exists() and not force:
        typer.echo(f"error: {target} exists (use --force to replace it)", err=True)
        raise typer.Exit(1)
    try:
        report = backup_sqlite(Path(url.database or ""), target)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up to {target}: {report.size_bytes} bytes, {report.tables} tables, integrity ok")

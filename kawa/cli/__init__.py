"""The `kawa` command: serve, app, key, db, run and settings.

Each command imports what it needs when it runs (the server stack for `serve`, the workflow engine and the model
runtime for `run`, only the stores for `app` and `key`), so `kawa app list` does not pay for the server's imports.
Every invocation reads the settings anew (see `invocation`).
"""

from __future__ import annotations

import typer

from kawa.cli.admin_command import admin_cli
from kawa.cli.app_commands import app_cli
from kawa.cli.db_commands import db_cli
from kawa.cli.key_commands import key_cli
from kawa.cli.run_command import run_workflow
from kawa.cli.runs_command import logs, runs_cli
from kawa.cli.sandbox_command import sandbox_cli
from kawa.cli.serve_command import serve

cli = typer.Typer(help="kawa: a self-hosted LLM app server that speaks the Dify Service API.", no_args_is_help=True)
cli.add_typer(app_cli, name="app")
cli.add_typer(key_cli, name="key")
cli.add_typer(db_cli, name="db")
cli.add_typer(sandbox_cli, name="sandbox")
cli.add_typer(runs_cli, name="runs")
cli.add_typer(admin_cli, name="admin")
cli.command()(serve)
cli.command("run")(run_workflow)
cli.command("logs")(logs)


@cli.command("settings")
def settings_table() -> None:
    """Print every setting (env var, default, meaning) as a Markdown table."""
    from kawa.settings import settings_markdown

    typer.echo(settings_markdown(), nl=False)


def main() -> None:
    cli()


__all__ = ["cli", "main"]

"""`kawa sandbox install`: build the package environment python3 code nodes import from, ahead of the server.

The server does the same at start when the package list changed (`KAWA_SANDBOX__PACKAGES`); running it first keeps
the registry download out of the start-up, and shows pip's verdict on the list.
"""

from __future__ import annotations

import shutil

import typer

sandbox_cli = typer.Typer(help="The code sandbox's packages.", no_args_is_help=True)


@sandbox_cli.command("install")
def sandbox_install(
    force: bool = typer.Option(False, "--force", help="Build the environment anew even if it exists."),
    prune: bool = typer.Option(False, "--prune", help="Remove environments left by earlier package lists."),
) -> None:
    """Install the packages code nodes may import: requests, httpx, jinja2, PySocks and KAWA_SANDBOX__PACKAGES."""
    from kawa.sandbox.environment import SandboxEnvironment
    from kawa.sandbox.errors import SandboxUnavailableError
    from kawa.settings import Settings

    environment = SandboxEnvironment.from_settings(Settings().sandbox)
    ready = environment.is_ready() and not force
    try:
        site = environment.prepare(log=typer.echo, force=force)
    except SandboxUnavailableError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    defaults = ", ".join(f"{name} {version}" for name, version in environment.default_packages.items())
    typer.echo(f"default packages (from kawa's install): {defaults}")
    typer.echo(f"extra packages: {', '.join(environment.packages) or 'none (KAWA_SANDBOX__PACKAGES)'}")
    typer.echo(f"{'already installed' if ready else 'installed'} in {site}")
    if prune:
        for stale in environment.stale():
            shutil.rmtree(stale, ignore_errors=True)
            typer.echo(f"removed {stale}")

"""`kawa admin create`: a console account (the web console at /console needs one to log in)."""

from __future__ import annotations

from typing import Annotated

import typer

from kawa.cli.invocation import Stores, with_stores

admin_cli = typer.Typer(help="Console accounts (the web console at /console).", no_args_is_help=True)

PasswordOption = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="KAWA_ADMIN_PASSWORD",
        help="Asked for when not given (or read from KAWA_ADMIN_PASSWORD); at least 8 characters.",
    ),
]


@admin_cli.command("create")
def admin_create(
    email: Annotated[str, typer.Argument(help="The login, an email address.")], password: PasswordOption
) -> None:
    """Create a console account; its password is stored as a scrypt hash."""
    from kawa.store.accounts import AccountStore

    async def work(stores: Stores) -> str:
        return await AccountStore(stores.db).create(email, password)

    account_id = with_stores(work)
    typer.echo(f"created console account {email.strip().lower()} ({account_id})")


@admin_cli.command("password")
def admin_password(
    email: Annotated[str, typer.Argument(help="The account's email.")], password: PasswordOption
) -> None:
    """Set a new password for a console account; its sessions are logged out."""
    from kawa.store.accounts import AccountStore

    async def work(stores: Stores) -> bool:
        return await AccountStore(stores.db).set_password(email, password)

    if not with_stores(work):
        typer.echo(f"error: no console account {email}", err=True)
        raise typer.Exit(1)
    typer.echo(f"password changed for {email}")

"""One command invocation: settings read from the environment at that moment, one event loop, the database opened
(and brought to the newest schema) around the work, and kawa's errors shown as `error: ...` with exit status 1.

Nothing is kept between invocations, so commands run one after another in one interpreter (tests use Typer's
`CliRunner`) behave like separate `kawa` processes. Only the stores are opened here, not the runtime the server
needs (models, sandbox, knowledge indexing): that is what keeps `kawa app list` quick.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from kawa.errors import KawaError

if TYPE_CHECKING:
    from kawa.settings import Settings
    from kawa.store.apps import AppStore
    from kawa.store.database import Database
    from kawa.store.keys import KeyStore

T = TypeVar("T")


def run_async(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `work` on a fresh event loop (closed afterwards); a `KawaError` becomes `error: ...` and exit status 1."""
    try:
        return asyncio.run(work())
    except KawaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@dataclass(frozen=True)
class Stores:
    """The repositories the app, key and db commands use, on one open database."""

    db: Database
    apps: AppStore
    keys: KeyStore


@asynccontextmanager
async def open_stores(settings: Settings) -> AsyncIterator[Stores]:
    """Open the database of `settings`, migrating it to the newest schema first; dispose of it on exit."""
    from kawa.store.apps import AppStore
    from kawa.store.database import Database
    from kawa.store.keys import KeyStore
    from kawa.store.migrate import upgrade

    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, settings.database)
    try:
        await upgrade(db)
        yield Stores(db=db, apps=AppStore(db), keys=KeyStore(db))
    finally:
        await db.dispose()


def with_stores(work: Callable[[Stores], Awaitable[T]]) -> T:
    """Run `work` with the stores of the database the current environment (`KAWA_*`, `kawa.toml`) names."""
    from kawa.settings import Settings

    settings = Settings()

    async def main() -> T:
        async with open_stores(settings) as stores:
            return await work(stores)

    return run_async(main)


def emit(payload: object, as_json: bool, text: str) -> None:
    """Print `payload` as JSON with `--json`, else the human-readable `text`."""
    typer.echo(json.dumps(payload) if as_json else text)

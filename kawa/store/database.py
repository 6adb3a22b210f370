"""The database handle: an async SQLAlchemy engine and session factory for SQLite (WAL) or PostgreSQL.

PostgreSQL connections come from a bounded pool (`DatabaseSettings`); each is pinged before use, so connections
broken by an outage are replaced on the next request and the process recovers by itself. `is_unavailable` tells
an outage (the API answers 503) from a bug (500).

Bench only: with `KAWA_BENCH_COMMIT_LOG` set to a file, every committed transaction appends one byte to it, so
`bench/throughput.py` counts the server's commits per run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kawa.store.settings import DatabaseSettings


class Database:
    """Owns the engine; `session()` opens a unit of work (`async with db.session() as s, s.begin(): ...`)."""

    def __init__(self, url: str, settings: DatabaseSettings | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.settings = settings or DatabaseSettings()
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(
                pool_size=self.settings.pool_size,
                max_overflow=self.settings.max_overflow,
                pool_timeout=self.settings.pool_timeout_s,
                pool_pre_ping=True,
                connect_args=_connect_args(url, self.settings.connect_timeout_s),
            )
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        if commit_log := os.environ.get("KAWA_BENCH_COMMIT_LOG"):
            event.listen(self.engine.sync_engine, "commit", _CommitCounter(commit_log))
        self.session = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing writers here avoids its busy handler, which sleeps in steps of
        # up to 100 ms. PostgreSQL writes concurrently, so there the lock is never taken.
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def write(self, *, serialized: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a Core connection (the hot paths: runs, node executions, messages).

        `serialized` transactions of this process never overlap on PostgreSQL either: the group-commit writer's
        batches (many run rows each) and lease renewals (the same rows) would otherwise deadlock each other."""
        if self.is_sqlite or serialized:
            async with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    async def ping(self) -> None:
        """One round trip to the database (raises what the driver raises when it cannot)."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


DatabaseFailure = exc.SQLAlchemyError
"""What a failing database call raises (the API maps it: `is_unavailable` → 503, anything else → 500)."""


def is_unavailable(error: BaseException) -> bool:
    """Is `error` the database being unreachable, restarting, locked or out of pooled connections — something that
    passes by itself (503) — rather than a bug (500)?"""
    if isinstance(error, exc.TimeoutError):  # no pooled connection freed up within pool_timeout_s
        return True
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError)
    return False


def _connect_args(url: str, connect_timeout_s: int) -> dict[str, Any]:
    if url.startswith("postgresql+asyncpg"):
        return {"timeout": connect_timeout_s}
    if url.startswith(("postgresql+psycopg", "postgresql://", "postgresql:")):
        return {"connect_timeout": connect_timeout_s}
    return {}


class _CommitCounter:
    """Appends one byte per commit to a file (bench only, see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __call__(self, _conn: Any) -> None:
        os.write(self.fd, b".")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def sync_url(url: str) -> str:
    """The synchronous driver URL Alembic uses for the same database."""
    return url.replace("sqlite+aiosqlite", "sqlite").replace("postgresql+asyncpg", "postgresql+psycopg")


__all__ = ["AsyncSession", "Database", "DatabaseFailure", "DatabaseSettings", "is_unavailable", "sync_url"]

"""Real databases for tests: a SQLite file, and a fresh database on the local PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN_URL = os.environ.get("KAWA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a throw-away database; yields its SQLAlchemy URL; drops it afterwards."""
    import psycopg

    name = f"kawa_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REDIS_URL = os.environ.get("KAWA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_available() -> str | None:
    """None when Redis answers, else the reason it does not."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None

"""Schema migrations: `upgrade(db)` brings a database to the newest revision (at start and by `kawa db upgrade`).

A database already at the newest revision is recognised without Alembic (its `alembic_version` row against the
revision ids written in `migrations/versions/`), so Alembic is imported only when there is something to apply.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from kawa.store.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade_on(connection: Connection) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")  # helpers may add sibling migrations: apply every branch


async def upgrade(db: Database) -> None:
    """Apply every pending migration. Concurrent starters on PostgreSQL serialise on an advisory lock."""
    if await applied_revisions(db) == head_revisions():
        return
    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7270716)")
        await conn.run_sync(_upgrade_on)


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.M)


def head_revisions() -> set[str]:
    """The revisions no migration builds on: where `alembic upgrade head` ends (read from the files, not Alembic)."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else built_on).update(_revision_ids(value))
    return revisions - built_on


def _revision_ids(literal: str) -> list[str]:
    """`'0002'`, `None` or a tuple of ids (a merge), as written after `revision =` / `down_revision =`."""
    value: object = ast.literal_eval(literal)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, tuple | list) else []


async def applied_revisions(db: Database) -> set[str] | None:
    """The revisions `alembic_version` records, or None when the database has no such table (or cannot be read)."""
    try:
        async with db.engine.connect() as conn:
            result = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            return {str(row[0]) for row in result}
    except DBAPIError:
        return None

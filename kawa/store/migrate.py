"""Schema migrations: `upgrade(db)` brings a database to the newest revision (at start and by `kawa db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from kawa.store.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade_on(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def upgrade(db: Database) -> None:
    """Apply every pending migration. Concurrent starters on PostgreSQL serialise on an advisory lock."""
    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7270716)")
        await conn.run_sync(_upgrade_on)

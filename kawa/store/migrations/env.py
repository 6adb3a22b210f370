"""Alembic environment: runs migrations on the connection kawa hands over (or on `sqlalchemy.url`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from kawa.store import (
    durable_tables,  # noqa: F401  (registers the durable-run tables on Base)
    knowledge_tables,  # noqa: F401  (registers the knowledge tables on Base)
    mcp_servers,  # noqa: F401  (registers app_mcp_servers on Base)
)
from kawa.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()

"""Apps published as MCP servers (Dify's `app_mcp_servers`): a secret server code names the app in the endpoint URL
`/mcp/server/{code}/mcp`; an inactive server answers as if it did not exist. One server per app."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import Base

_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 16


class AppMcpServerRow(Base):
    __tablename__ = "app_mcp_servers"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    server_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[float]
    updated_at: Mapped[float]


@dataclass(frozen=True, slots=True)
class AppMcpServer:
    app_id: str
    server_code: str
    status: Literal["active", "inactive"]
    description: str


def _record(row: AppMcpServerRow) -> AppMcpServer:
    return AppMcpServer(
        app_id=row.app_id,
        server_code=row.server_code,
        status="active" if row.status == "active" else "inactive",
        description=row.description,
    )


def generate_server_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


class McpServerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enable(self, app_id: str, *, description: str | None = None, new_code: bool = False) -> AppMcpServer:
        """Activate the app's server (creating it with a fresh code); `new_code` replaces the code, so the old URL
        stops working at once."""
        async with self.db.session() as session, session.begin():
            row = await session.scalar(sa.select(AppMcpServerRow).where(AppMcpServerRow.app_id == app_id))
            if row is None:
                row = AppMcpServerRow(
                    id=new_id(),
                    app_id=app_id,
                    server_code=generate_server_code(),
                    status="active",
                    description=description or "",
                    created_at=now(),
                    updated_at=now(),
                )
                session.add(row)
            else:
                row.status = "active"
                if description is not None:
                    row.description = description
                if new_code:
                    row.server_code = generate_server_code()
                row.updated_at = now()
            await session.flush()
            return _record(row)

    async def disable(self, app_id: str) -> AppMcpServer | None:
        async with self.db.session() as session, session.begin():
            row = await session.scalar(sa.select(AppMcpServerRow).where(AppMcpServerRow.app_id == app_id))
            if row is None:
                return None
            row.status = "inactive"
            row.updated_at = now()
            return _record(row)

    async def of_app(self, app_id: str) -> AppMcpServer | None:
        async with self.db.session() as session:
            row = await session.scalar(sa.select(AppMcpServerRow).where(AppMcpServerRow.app_id == app_id))
            return _record(row) if row is not None else None

    async def active(self, server_code: str) -> AppMcpServer | None:
        """The active server with this code, or None (unknown and inactive codes alike)."""
        async with self.db.session() as session:
            row = await session.scalar(
                sa.select(AppMcpServerRow).where(
                    AppMcpServerRow.server_code == server_code, AppMcpServerRow.status == "active"
                )
            )
            return _record(row) if row is not None else None

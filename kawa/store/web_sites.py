"""WebApp sites: the public code of each app's WebApp (`/chat/{code}`, `/workflow/{code}`) and whether it is on.

A site row is made the first time the console or a WebApp asks for it; a new code replaces a leaked one.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kawa.store.clock import now
from kawa.store.database import Database
from kawa.store.tables import Base

_ALPHABET = string.ascii_letters + string.digits


class WebSite(Base):
    __tablename__ = "web_sites"

    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[float]


@dataclass(frozen=True, slots=True)
class Site:
    app_id: str
    code: str
    enabled: bool


def _code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def _site(row: WebSite) -> Site:
    return Site(app_id=row.app_id, code=row.code, enabled=row.enabled)


class WebSiteStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of_app(self, app_id: str) -> Site:
        """The app's site, made (enabled, with a new code) on first use."""
        async with self.db.session() as session:
            row = await session.get(WebSite, app_id)
            if row is not None:
                return _site(row)
            row = WebSite(app_id=app_id, code=_code(), enabled=True, created_at=now())
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # made concurrently
                await session.rollback()
                found = await session.get(WebSite, app_id)
                assert found is not None
                return _site(found)
            return _site(row)

    async def by_code(self, code: str) -> Site | None:
        async with self.db.session() as session:
            row = await session.scalar(sa.select(WebSite).where(WebSite.code == code))
            return None if row is None else _site(row)

    async def set_enabled(self, app_id: str, enabled: bool) -> Site:
        await self.of_app(app_id)
        async with self.db.session() as session, session.begin():
            row = await session.get(WebSite, app_id)
            assert row is not None
            row.enabled = enabled
            return _site(row)

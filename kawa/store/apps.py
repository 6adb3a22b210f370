"""Apps and their published versions.

The store keeps what a parsed app export says (`AppDefinition`: columns plus the normalised DSL mapping); parsing
and validating the YAML is kawa.dsl's job, done by the caller (`kawa.dsl.AppDocument` is an `AppDefinition`).
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kawa.errors import InvalidParam, NotFound
from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import App, AppVersion

VERSION_CACHE_SIZE = 512


class AppDefinition(Protocol):
    """An app as an export describes it: the columns of `apps` and the document stored with each version."""

    @property
    def name(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def icon_type(self) -> str | None: ...
    @property
    def icon(self) -> str | None: ...
    @property
    def icon_background(self) -> str | None: ...
    @property
    def use_icon_as_answer_icon(self) -> bool: ...
    @property
    def dsl_version(self) -> str: ...
    @property
    def document(self) -> dict[str, Any]: ...


class AppStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._versions: OrderedDict[str, AppVersion] = OrderedDict()  # published versions never change

    async def create(self, doc: AppDefinition) -> tuple[App, AppVersion]:
        """A new app with `doc` as its first published version, in one transaction."""
        async with self.db.session() as session, session.begin():
            ts = now()
            app = App(id=new_id(), created_at=ts, updated_at=ts, tags=list(doc.document["app"].get("tags") or []))
            _apply(app, doc)
            session.add(app)
            await session.flush()
            version = await self._add_version(session, app, doc, number=1)
            return app, version

    async def publish(self, app_id: str, doc: AppDefinition) -> tuple[App, AppVersion]:
        """Publish `doc` as the next version of an existing app; older versions stay runnable by id."""
        async with self.db.session() as session, session.begin():
            app = await session.get(App, app_id, with_for_update=not self.db.is_sqlite)
            if app is None:
                raise NotFound(f"App {app_id} not found.")
            if app.mode != doc.mode:
                raise InvalidParam(f"app.mode: the app is a {app.mode} app; a {doc.mode} export cannot replace it")
            last = await session.scalar(sa.select(sa.func.max(AppVersion.number)).where(AppVersion.app_id == app_id))
            _apply(app, doc)
            app.updated_at = now()
            version = await self._add_version(session, app, doc, number=(last or 0) + 1)
            return app, version

    @staticmethod
    async def _add_version(session: AsyncSession, app: App, doc: AppDefinition, *, number: int) -> AppVersion:
        version = AppVersion(
            id=new_id(),
            app_id=app.id,
            number=number,
            dsl_version=doc.dsl_version,
            document=doc.document,
            created_at=now(),
        )
        session.add(version)
        app.current_version_id = version.id
        return version

    async def get(self, app_id: str) -> App | None:
        async with self.db.session() as session:
            return await session.get(App, app_id)

    async def list(self) -> list[App]:
        async with self.db.session() as session:
            return list(await session.scalars(sa.select(App).order_by(App.created_at)))

    async def delete(self, app_id: str) -> bool:
        async with self.db.session() as session, session.begin():
            result = await session.execute(sa.delete(App).where(App.id == app_id).returning(App.id))
            return result.first() is not None

    async def version(self, version_id: str) -> AppVersion | None:
        cached = self._versions.get(version_id)
        if cached is not None:
            self._versions.move_to_end(version_id)
            return cached
        async with self.db.session() as session:
            version = await session.get(AppVersion, version_id)
        if version is not None:
            self._versions[version_id] = version
            if len(self._versions) > VERSION_CACHE_SIZE:
                self._versions.popitem(last=False)
        return version

    async def current_version(self, app: App) -> AppVersion:
        version = await self.version(app.current_version_id or "")
        if version is None:
            raise NotFound("The app has no published version.")
        return version

    async def versions(self, app_id: str) -> builtins.list[AppVersion]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(AppVersion).where(AppVersion.app_id == app_id).order_by(AppVersion.number)
            )
            return list(rows)


def _apply(app: App, doc: AppDefinition) -> None:
    app.name = doc.name
    app.mode = doc.mode
    app.description = doc.description
    app.icon_type = doc.icon_type
    app.icon = doc.icon
    app.icon_background = doc.icon_background
    app.use_icon_as_answer_icon = doc.use_icon_as_answer_icon

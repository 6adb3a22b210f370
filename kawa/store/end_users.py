"""End users: the Service API's `user` strings, created on first sight, scoped per app."""

from __future__ import annotations

from collections import OrderedDict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import EndUser

DEFAULT_SESSION_ID = "DEFAULT-USER"


CACHE_SIZE = 10_000


class EndUserStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: OrderedDict[tuple[str, str], EndUser] = OrderedDict()  # end users are never changed

    async def get_or_create(self, app_id: str, session_id: str | None) -> EndUser:
        anonymous = not session_id
        sid = session_id or DEFAULT_SESSION_ID
        cached = self._known.get((app_id, sid))
        if cached is not None:
            return cached
        user = await self._get_or_create(app_id, sid, anonymous)
        self._known[(app_id, sid)] = user
        if len(self._known) > CACHE_SIZE:
            self._known.popitem(last=False)
        return user

    async def _get_or_create(self, app_id: str, sid: str, anonymous: bool) -> EndUser:
        query = sa.select(EndUser).where(EndUser.app_id == app_id, EndUser.session_id == sid)
        async with self.db.session() as session:
            user = await session.scalar(query)
            if user is not None:
                return user
            user = EndUser(
                id=new_id(), app_id=app_id, session_id=sid, type="service-api", is_anonymous=anonymous, created_at=now()
            )
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:  # created concurrently by another request
                await session.rollback()
                found = await session.scalar(query)
                assert found is not None
                return found
            return user

    async def find(self, app_id: str, session_id: str) -> EndUser | None:
        async with self.db.session() as session:
            return await session.scalar(
                sa.select(EndUser).where(EndUser.app_id == app_id, EndUser.session_id == session_id)
            )

    async def get(self, end_user_id: str) -> EndUser | None:
        async with self.db.session() as session:
            return await session.get(EndUser, end_user_id)

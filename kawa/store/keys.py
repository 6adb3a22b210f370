"""API keys: shown once at creation, stored as SHA-256; a revoked key stops working on the next request."""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import ApiKey, App

_ALPHABET = string.ascii_letters + string.digits
LAST_USED_RESOLUTION_S = 60.0


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token(prefix: str) -> str:
    """`app-` or `dataset-` followed by 24 alphanumerics, as Dify's keys look."""
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


@dataclass(frozen=True, slots=True)
class AppKey:
    """A live `app` key and the app it opens."""

    key_id: str
    app: App


@dataclass(frozen=True, slots=True)
class OrphanAppKey:
    """A live `app` key whose app was deleted."""

    key_id: str


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, app_id: str | None, *, type: str = "app") -> tuple[ApiKey, str]:
        token = generate_token(type)
        key = ApiKey(
            id=new_id(),
            type=type,
            app_id=app_id,
            token_hash=hash_token(token),
            hint=token[-4:],
            created_at=now(),
            last_used_at=None,
            revoked_at=None,
        )
        async with self.db.session() as session, session.begin():
            session.add(key)
        return key, token

    async def resolve(self, token: str) -> ApiKey | None:
        """The live key for `token`, or None. Touches `last_used_at` at most once a minute."""
        async with self.db.session() as session:
            key = await session.scalar(
                sa.select(ApiKey).where(ApiKey.token_hash == hash_token(token), ApiKey.revoked_at.is_(None))
            )
            if key is not None and (key.last_used_at is None or now() - key.last_used_at > LAST_USED_RESOLUTION_S):
                key.last_used_at = now()
                await session.commit()
            return key

    async def resolve_app_key(self, token: str) -> AppKey | OrphanAppKey | None:
        """The live `app` key for `token` with its app, in one query (the hot path of every app request)."""
        async with self.db.session() as session:
            row = (
                await session.execute(
                    sa.select(ApiKey, App)
                    .outerjoin(App, App.id == ApiKey.app_id)
                    .where(ApiKey.token_hash == hash_token(token), ApiKey.revoked_at.is_(None))
                )
            ).first()
            if row is None:
                return None
            key, app = row
            if key.last_used_at is None or now() - key.last_used_at > LAST_USED_RESOLUTION_S:
                key.last_used_at = now()
                await session.commit()
            if key.type != "app" or key.app_id is None:
                return None
            return OrphanAppKey(key.id) if app is None else AppKey(key.id, app)

    async def list(self, app_id: str | None = None) -> list[ApiKey]:
        async with self.db.session() as session:
            query = sa.select(ApiKey).order_by(ApiKey.created_at)
            if app_id is not None:
                query = query.where(ApiKey.app_id == app_id)
            return list(await session.scalars(query))

    async def revoke(self, key_id: str) -> bool:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                sa.update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=now())
                .returning(ApiKey.id)
            )
            return result.first() is not None

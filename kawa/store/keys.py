"""API keys: shown once at creation, stored as SHA-256.

A server keeps each app key it resolved (with its app) for `KEY_CACHE_TTL_S`, so a busy key costs one lookup per
TTL instead of one per request: a key revoked (or an app disabled or republished) by another process takes effect
there within that time, in the revoking process at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
import time
from dataclasses import dataclass

import sqlalchemy as sa

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import ApiKey, App

_ALPHABET = string.ascii_letters + string.digits
LAST_USED_RESOLUTION_S = 60.0
KEY_CACHE_TTL_S = 0.5
"""How long a resolved app key is reused; revocation takes effect across processes within this (promised: 1 s)."""
KEY_CACHE_SIZE = 10_000


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
    def __init__(self, db: Database, *, cache_ttl_s: float = KEY_CACHE_TTL_S) -> None:
        self.db = db
        self.cache_ttl_s = cache_ttl_s
        self._app_keys: dict[str, tuple[float, AppKey | OrphanAppKey]] = {}  # token hash -> (expiry, key)
        self._lookups: dict[str, asyncio.Future[AppKey | OrphanAppKey | None]] = {}

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
        """The live `app` key for `token` with its app (the hot path of every app request): from the cache when
        resolved less than `cache_ttl_s` ago, else in one query."""
        token_hash = hash_token(token)
        cached = self._app_keys.get(token_hash)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        # One query per token at a time: the requests that find the entry expired together share it.
        lookup = self._lookups.get(token_hash)
        if lookup is None:
            lookup = asyncio.ensure_future(self._resolve_app_key(token_hash))
            self._lookups[token_hash] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(token_hash, None))
        found = await asyncio.shield(lookup)
        if found is None:  # unknown tokens are not kept: nothing to gain, and they would fill memory
            self._app_keys.pop(token_hash, None)
            return None
        if len(self._app_keys) >= KEY_CACHE_SIZE:
            self._app_keys.clear()
        self._app_keys[token_hash] = (time.monotonic() + self.cache_ttl_s, found)
        return found

    async def _resolve_app_key(self, token_hash: str) -> AppKey | OrphanAppKey | None:
        async with self.db.session() as session:
            row = (
                await session.execute(
                    sa.select(ApiKey, App)
                    .outerjoin(App, App.id == ApiKey.app_id)
                    .where(ApiKey.token_hash == token_hash, ApiKey.revoked_at.is_(None))
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
            revoked = result.first() is not None
        self._app_keys.clear()  # this process stops accepting it at once; others within `cache_ttl_s`
        return revoked

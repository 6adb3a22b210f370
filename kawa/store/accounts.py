"""Console accounts and their sessions: passwords kept as scrypt hashes, sessions as SHA-256 of a random token.

The console (kawa.web) is the only user: an admin account is made by `kawa admin create`; logging in creates a
session whose token lives in an HttpOnly cookie, and logging out deletes the row, so a copied cookie dies with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kawa.errors import InvalidParam
from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import Base

SESSION_TTL_S = 7 * 24 * 3600
# scrypt at n=2**14, r=8: ~16 MB and ~50 ms per check, OWASP's floor for interactive logins.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class ConsoleAccount(Base):
    __tablename__ = "console_accounts"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[float]


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("console_accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[float]
    expires_at: Mapped[float]


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A logged-in console user and the CSRF token bound to their session."""

    account_id: str
    email: str
    csrf_token: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, email: str, password: str) -> str:
        """A new console account; its id. The password is kept only as a scrypt hash."""
        email = email.strip().lower()
        if "@" not in email:
            raise InvalidParam("email must be an email address")
        if len(password) < 8:
            raise InvalidParam("password must have at least 8 characters")
        account = ConsoleAccount(id=new_id(), email=email, password_hash=hash_password(password), created_at=now())
        try:
            async with self.db.session() as session, session.begin():
                session.add(account)
        except IntegrityError:
            raise InvalidParam(f"an account {email} exists already") from None
        return account.id

    async def set_password(self, email: str, password: str) -> bool:
        if len(password) < 8:
            raise InvalidParam("password must have at least 8 characters")
        async with self.db.session() as session, session.begin():
            account = await session.scalar(sa.select(ConsoleAccount).where(ConsoleAccount.email == email.lower()))
            if account is None:
                return False
            account.password_hash = hash_password(password)
            await session.execute(sa.delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
            return True

    async def log_in(self, email: str, password: str) -> str | None:
        """A new session token for the right password, else None (same answer for unknown email and bad password)."""
        async with self.db.session() as session:
            account = await session.scalar(
                sa.select(ConsoleAccount).where(ConsoleAccount.email == email.strip().lower())
            )
        stored = account.password_hash if account is not None else hash_password("not an account")
        if not check_password(password, stored) or account is None:
            return None
        token = secrets.token_urlsafe(32)
        ts = now()
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(ConsoleSession).where(ConsoleSession.expires_at < ts))
            session.add(
                ConsoleSession(
                    token_hash=_token_hash(token),
                    account_id=account.id,
                    csrf_token=secrets.token_urlsafe(24),
                    created_at=ts,
                    expires_at=ts + SESSION_TTL_S,
                )
            )
        return token

    async def session_user(self, token: str) -> ConsoleUser | None:
        query = (
            sa.select(ConsoleSession.csrf_token, ConsoleAccount.id, ConsoleAccount.email)
            .join(ConsoleAccount, ConsoleAccount.id == ConsoleSession.account_id)
            .where(ConsoleSession.token_hash == _token_hash(token), ConsoleSession.expires_at > now())
        )
        async with self.db.session() as session:
            row = (await session.execute(query)).first()
        return None if row is None else ConsoleUser(account_id=row[1], email=row[2], csrf_token=row[0])

    async def log_out(self, token: str) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))

    async def count(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(sa.select(sa.func.count()).select_from(ConsoleAccount)) or 0)

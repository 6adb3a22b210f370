"""Messages of chat and completion apps, and their feedback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.leases import RecordLeases
from kawa.store.runs import table_of, table_row
from kawa.store.tables import Message, MessageFeedback

_MESSAGES = table_of(Message)


class MessageStore:
    def __init__(self, db: Database, *, leases: RecordLeases) -> None:
        self.db = db
        self.leases = leases

    async def add(self, message: Message) -> None:
        """Insert a new (running) message, owned (leased) by this process until `finish`."""
        message.owner_pid, message.lease_expires_at = self.leases.owner, self.leases.expiry()
        async with self.db.write() as conn:
            await conn.execute(sa.insert(_MESSAGES), [table_row(message, _MESSAGES)])
        self.leases.messages.add(message.id)

    async def finish(
        self,
        message_id: str,
        values: dict[str, Any],
        *,
        conversation_update: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> None:
        """Record a finished message, and with it (same transaction) whatever the turn changed in its conversation.
        Its lease ends here even if the write fails: the reaper then marks the message."""
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    sa.update(Message)
                    .where(Message.id == message_id)
                    .values(updated_at=now(), lease_expires_at=None, **values)
                )
                if conversation_update is not None:
                    await conversation_update(conn)
        finally:
            self.leases.messages.discard(message_id)

    async def get(self, message_id: str, *, app_id: str) -> Message | None:
        async with self.db.session() as session:
            message = await session.get(Message, message_id)
        return message if message is not None and message.app_id == app_id else None

    async def by_task(self, task_id: str, *, app_id: str) -> Message | None:
        async with self.db.session() as session:
            return await session.scalar(sa.select(Message).where(Message.task_id == task_id, Message.app_id == app_id))

    async def history(self, conversation_id: str, *, limit: int = 500) -> list[Message]:
        """The conversation's finished messages, oldest first (the memory of the next turn)."""
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(Message)
                .where(Message.conversation_id == conversation_id, Message.status != "running")
                .order_by(Message.created_at.desc())
                .limit(limit)
            )
            return list(rows)[::-1]

    async def page(self, conversation_id: str, *, first_id: str | None, limit: int) -> tuple[list[Message], bool]:
        """A page ending just before `first_id` (or at the newest), oldest first, as Dify pages `/messages`."""
        query = sa.select(Message).where(Message.conversation_id == conversation_id)
        async with self.db.session() as session:
            if first_id:
                first = await session.get(Message, first_id)
                if first is None or first.conversation_id != conversation_id:
                    raise LookupError(first_id)
                query = query.where(
                    sa.or_(
                        Message.created_at < first.created_at,
                        sa.and_(Message.created_at == first.created_at, Message.id < first.id),
                    )
                )
            rows = list(
                await session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1))
            )
        return rows[:limit][::-1], len(rows) > limit

    async def feedbacks_of(self, message_ids: list[str]) -> dict[str, MessageFeedback]:
        if not message_ids:
            return {}
        async with self.db.session() as session:
            rows = await session.scalars(sa.select(MessageFeedback).where(MessageFeedback.message_id.in_(message_ids)))
            return {row.message_id: row for row in rows}

    async def set_feedback(
        self, message: Message, *, rating: str | None, content: str | None, end_user_id: str
    ) -> bool:
        """Like/dislike (upsert) or, with `rating` None, remove. False when there was nothing to remove."""
        async with self.db.session() as session, session.begin():
            existing = await session.scalar(sa.select(MessageFeedback).where(MessageFeedback.message_id == message.id))
            if rating is None:
                if existing is None:
                    return False
                await session.delete(existing)
                return True
            ts = now()
            if existing is None:
                session.add(
                    MessageFeedback(
                        id=new_id(),
                        app_id=message.app_id,
                        message_id=message.id,
                        conversation_id=message.conversation_id,
                        rating=rating,
                        content=content,
                        from_end_user_id=end_user_id,
                        created_at=ts,
                        updated_at=ts,
                    )
                )
            else:
                existing.rating, existing.content, existing.updated_at = rating, content, ts
            return True

    async def app_feedbacks(self, app_id: str, *, page: int, limit: int) -> list[MessageFeedback]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(MessageFeedback)
                .where(MessageFeedback.app_id == app_id)
                .order_by(MessageFeedback.created_at.desc())
                .offset((page - 1) * limit)
                .limit(limit)
            )
            return list(rows)

"""An app's message log for the console: newest messages first, with the conversation's name, the end user and the
feedback given, filtered by status or feedback rating (Dify's log filters)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from kawa.store.database import Database
from kawa.store.tables import Conversation, EndUser, Message, MessageFeedback


@dataclass(frozen=True, slots=True)
class MessageLogEntry:
    id: str
    conversation_id: str | None
    conversation_name: str
    user: str | None
    query: str
    answer: str
    status: str
    error: str | None
    rating: str | None
    message_tokens: int
    answer_tokens: int
    latency: float
    workflow_run_id: str | None
    created_at: float


class MessageLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self, app_id: str, *, page: int, limit: int, rating: str | None = None, keyword: str | None = None
    ) -> tuple[list[MessageLogEntry], int]:
        query = (
            sa.select(Message, Conversation.name, EndUser.session_id, MessageFeedback.rating)
            .outerjoin(Conversation, Conversation.id == Message.conversation_id)
            .outerjoin(EndUser, EndUser.id == Message.end_user_id)
            .outerjoin(MessageFeedback, MessageFeedback.message_id == Message.id)
            .where(Message.app_id == app_id)
        )
        if rating:
            query = query.where(MessageFeedback.rating == rating)
        if keyword:
            pattern = f"%{keyword}%"
            query = query.where(sa.or_(Message.query.ilike(pattern), Message.answer.ilike(pattern)))
        async with self.db.session() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
            rows = await session.execute(
                query.order_by(Message.created_at.desc()).offset((page - 1) * limit).limit(limit)
            )
            entries = [
                MessageLogEntry(
                    id=m.id,
                    conversation_id=m.conversation_id,
                    conversation_name=name or "",
                    user=session_id,
                    query=m.query,
                    answer=m.answer,
                    status=m.status,
                    error=m.error,
                    rating=rating_value,
                    message_tokens=m.message_tokens,
                    answer_tokens=m.answer_tokens,
                    latency=m.latency,
                    workflow_run_id=m.workflow_run_id,
                    created_at=m.created_at,
                )
                for m, name, session_id, rating_value in rows
            ]
        return entries, int(total or 0)

"""Conversations of chat apps and their (chatflow) conversation variables, always scoped to app + end user."""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import Conversation, ConversationVariable

SORT_FIELDS = {
    "created_at": Conversation.created_at.asc(),
    "-created_at": Conversation.created_at.desc(),
    "updated_at": Conversation.updated_at.asc(),
    "-updated_at": Conversation.updated_at.desc(),
}


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        app_id: str,
        end_user_id: str,
        mode: str,
        name: str,
        inputs: dict[str, Any],
        introduction: str,
        variables: list[dict[str, Any]],
    ) -> Conversation:
        ts = now()
        conversation = Conversation(
            id=new_id(),
            app_id=app_id,
            end_user_id=end_user_id,
            mode=mode,
            name=name,
            inputs=inputs,
            introduction=introduction,
            status="normal",
            dialogue_count=0,
            created_at=ts,
            updated_at=ts,
        )
        async with self.db.session() as session, session.begin():
            session.add(conversation)
            await session.flush()
            for variable in variables:
                session.add(
                    ConversationVariable(
                        id=str(variable.get("id") or variable["name"]),
                        conversation_id=conversation.id,
                        name=variable["name"],
                        value_type=variable.get("value_type", "string"),
                        value=variable.get("value"),
                        description=variable.get("description") or "",
                        created_at=ts,
                        updated_at=ts,
                    )
                )
        return conversation

    async def get(self, conversation_id: str, *, app_id: str, end_user_id: str) -> Conversation | None:
        async with self.db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.app_id != app_id or conversation.end_user_id != end_user_id:
            return None
        return conversation

    async def list(
        self, *, app_id: str, end_user_id: str, last_id: str | None, limit: int, sort_by: str
    ) -> tuple[list[Conversation], bool]:
        order = SORT_FIELDS[sort_by]
        column = Conversation.updated_at if "updated_at" in sort_by else Conversation.created_at
        query = sa.select(Conversation).where(Conversation.app_id == app_id, Conversation.end_user_id == end_user_id)
        async with self.db.session() as session:
            if last_id:
                last = await session.get(Conversation, last_id)
                if last is None or last.app_id != app_id or last.end_user_id != end_user_id:
                    return [], False
                pivot = getattr(last, column.key)
                newer_first = sort_by.startswith("-")
                query = query.where(
                    sa.or_(column < pivot, sa.and_(column == pivot, Conversation.id < last.id))
                    if newer_first
                    else sa.or_(column > pivot, sa.and_(column == pivot, Conversation.id > last.id))
                )
            id_order = Conversation.id.desc() if sort_by.startswith("-") else Conversation.id.asc()
            rows = list(await session.scalars(query.order_by(order, id_order).limit(limit + 1)))
        return rows[:limit], len(rows) > limit

    @staticmethod
    async def after_turn(
        conn: AsyncConnection, conversation_id: str, *, dialogue_count: int, variables: dict[str, Any]
    ) -> None:
        """A turn ended: its conversation variables and the conversation's activity, in the caller's transaction."""
        ts = now()
        for name, value in variables.items():
            await conn.execute(
                sa.update(ConversationVariable)
                .where(ConversationVariable.conversation_id == conversation_id, ConversationVariable.name == name)
                .values(value=value, updated_at=ts)
            )
        await conn.execute(
            sa.update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(updated_at=ts, dialogue_count=dialogue_count)
        )

    async def rename(self, conversation: Conversation, name: str) -> Conversation:
        async with self.db.session() as session, session.begin():
            await session.execute(
                sa.update(Conversation).where(Conversation.id == conversation.id).values(name=name, updated_at=now())
            )
        conversation.name = name
        return conversation

    async def delete(self, conversation_id: str) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(Conversation).where(Conversation.id == conversation_id))

    # -- conversation variables
    async def variables(self, conversation_id: str) -> builtins.list[ConversationVariable]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(ConversationVariable)
                .where(ConversationVariable.conversation_id == conversation_id)
                .order_by(ConversationVariable.created_at, ConversationVariable.name)
            )
            return list(rows)

    async def set_variable(self, conversation_id: str, variable_id: str, value: Any) -> ConversationVariable | None:
        async with self.db.session() as session, session.begin():
            row = await session.get(ConversationVariable, (variable_id, conversation_id))
            if row is None:
                return None
            row.value = value
            row.updated_at = now()
            return row

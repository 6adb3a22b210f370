"""Knowledge tags (Dify's `tags` of type `knowledge` and their `tag_bindings`): names unique on the server, bound to
any number of datasets; deleting a tag or a dataset removes its bindings, never the other side."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kawa.errors import DatasetNotFound, InvalidParam, NotFound
from kawa.store.clock import new_id, now
from kawa.store.database import AsyncSession, Database
from kawa.store.knowledge_tables import Dataset
from kawa.store.tables import Base

TAG_TYPE = "knowledge"


class KnowledgeTagRow(Base):
    __tablename__ = "knowledge_tags"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[float]


class KnowledgeTagBindingRow(Base):
    __tablename__ = "knowledge_tag_bindings"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tag_id: Mapped[str] = mapped_column(sa.ForeignKey("knowledge_tags.id", ondelete="CASCADE"))
    dataset_id: Mapped[str] = mapped_column(sa.ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float]

    __table_args__ = (sa.UniqueConstraint("tag_id", "dataset_id"),)


@dataclass(frozen=True, slots=True)
class KnowledgeTag:
    id: str
    name: str
    binding_count: int = 0


class TagNameDuplicate(InvalidParam):
    default_message = "A knowledge tag with the same name already exists."


class TagNotFound(NotFound):
    default_message = "Tag not found."


class TagStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> list[KnowledgeTag]:
        """Every tag with the number of datasets bound to it, newest first."""
        count = sa.func.count(KnowledgeTagBindingRow.id)
        query = (
            sa.select(KnowledgeTagRow.id, KnowledgeTagRow.name, count)
            .outerjoin(KnowledgeTagBindingRow, KnowledgeTagBindingRow.tag_id == KnowledgeTagRow.id)
            .group_by(KnowledgeTagRow.id, KnowledgeTagRow.name, KnowledgeTagRow.created_at)
            .order_by(KnowledgeTagRow.created_at.desc(), KnowledgeTagRow.id)
        )
        async with self.db.session() as session:
            return [KnowledgeTag(tag_id, name, int(n)) for tag_id, name, n in await session.execute(query)]

    async def create(self, name: str) -> KnowledgeTag:
        row = KnowledgeTagRow(id=new_id(), name=name, created_at=now())
        try:
            async with self.db.session() as session, session.begin():
                if await session.scalar(sa.select(KnowledgeTagRow.id).where(KnowledgeTagRow.name == name)):
                    raise TagNameDuplicate()
                session.add(row)
        except IntegrityError:
            raise TagNameDuplicate() from None
        return KnowledgeTag(row.id, row.name, 0)

    async def rename(self, tag_id: str, name: str) -> KnowledgeTag:
        try:
            async with self.db.session() as session, session.begin():
                row = await session.get(KnowledgeTagRow, tag_id)
                if row is None:
                    raise TagNotFound()
                other = sa.select(KnowledgeTagRow.id).where(KnowledgeTagRow.name == name, KnowledgeTagRow.id != tag_id)
                if await session.scalar(other):
                    raise TagNameDuplicate()
                row.name = name
                bound = await session.scalar(sa.select(sa.func.count()).where(KnowledgeTagBindingRow.tag_id == tag_id))
        except IntegrityError:
            raise TagNameDuplicate() from None
        return KnowledgeTag(tag_id, name, int(bound or 0))

    async def delete(self, tag_id: str) -> None:
        async with self.db.session() as session, session.begin():
            deleted = await session.execute(
                sa.delete(KnowledgeTagRow).where(KnowledgeTagRow.id == tag_id).returning(KnowledgeTagRow.id)
            )
            if deleted.first() is None:
                raise TagNotFound()
            await session.execute(sa.delete(KnowledgeTagBindingRow).where(KnowledgeTagBindingRow.tag_id == tag_id))

    async def bind(self, tag_ids: list[str], dataset_id: str) -> None:
        """Bind the tags that exist to the dataset (unknown ids are ignored, bindings already there kept)."""
        async with self.db.session() as session, session.begin():
            await self._require_dataset(session, dataset_id)
            known = set(await session.scalars(sa.select(KnowledgeTagRow.id).where(KnowledgeTagRow.id.in_(tag_ids))))
            bound = set(
                await session.scalars(
                    sa.select(KnowledgeTagBindingRow.tag_id).where(KnowledgeTagBindingRow.dataset_id == dataset_id)
                )
            )
            ts = now()
            for tag_id in dict.fromkeys(tag_ids):
                if tag_id in known and tag_id not in bound:
                    session.add(
                        KnowledgeTagBindingRow(id=new_id(), tag_id=tag_id, dataset_id=dataset_id, created_at=ts)
                    )

    async def unbind(self, tag_ids: list[str], dataset_id: str) -> None:
        async with self.db.session() as session, session.begin():
            await self._require_dataset(session, dataset_id)
            await session.execute(
                sa.delete(KnowledgeTagBindingRow).where(
                    KnowledgeTagBindingRow.dataset_id == dataset_id, KnowledgeTagBindingRow.tag_id.in_(tag_ids)
                )
            )

    async def of_datasets(self, dataset_ids: list[str]) -> dict[str, list[KnowledgeTag]]:
        """The tags bound to each dataset (oldest binding first); datasets without tags are absent."""
        if not dataset_ids:
            return {}
        query = (
            sa.select(KnowledgeTagBindingRow.dataset_id, KnowledgeTagRow.id, KnowledgeTagRow.name)
            .join(KnowledgeTagRow, KnowledgeTagRow.id == KnowledgeTagBindingRow.tag_id)
            .where(KnowledgeTagBindingRow.dataset_id.in_(dataset_ids))
            .order_by(KnowledgeTagBindingRow.created_at, KnowledgeTagRow.name)
        )
        found: dict[str, list[KnowledgeTag]] = {}
        async with self.db.session() as session:
            for dataset_id, tag_id, name in await session.execute(query):
                found.setdefault(dataset_id, []).append(KnowledgeTag(tag_id, name))
        return found

    async def dataset_ids_tagged(self, tag_ids: list[str]) -> list[str]:
        """Datasets bound to any of the tags (Dify's `tag_ids` filter of the dataset list)."""
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(KnowledgeTagBindingRow.dataset_id)
                .where(KnowledgeTagBindingRow.tag_id.in_(tag_ids))
                .distinct()
            )
            return list(rows)

    @staticmethod
    async def _require_dataset(session: AsyncSession, dataset_id: str) -> None:
        if await session.scalar(sa.select(Dataset.id).where(Dataset.id == dataset_id)) is None:
            raise DatasetNotFound()

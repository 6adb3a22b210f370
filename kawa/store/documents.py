"""`DocumentStore`: the repository of documents, segments and child chunks of datasets (rows only; splitting and
indexing are kawa.knowledge's).

Every change to what search sees bumps the dataset's `index_revision` in the same transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kawa.errors import ChildChunkNotFound, DocumentNotFound, SegmentNotFound
from kawa.store.clock import now
from kawa.store.database import AsyncSession, Database
from kawa.store.datasets import bump_revision
from kawa.store.knowledge_tables import ChildChunk, DatasetDocument, DocumentSegment

IN_PROGRESS = ("waiting", "parsing", "cleaning", "splitting", "indexing")


class DocumentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- documents ------------------------------------------------------------------------------------------------

    async def add(self, document: DatasetDocument) -> DatasetDocument:
        async with self.db.session() as session, session.begin():
            last = await session.scalar(
                sa.select(sa.func.max(DatasetDocument.position)).where(
                    DatasetDocument.dataset_id == document.dataset_id
                )
            )
            document.position = (last or 0) + 1
            session.add(document)
        return document

    async def get(self, dataset_id: str, document_id: str) -> DatasetDocument:
        async with self.db.session() as session:
            document = await session.get(DatasetDocument, document_id)
        if document is None or document.dataset_id != dataset_id:
            raise DocumentNotFound()
        return document

    async def documents_by_id(self, document_ids: list[str]) -> dict[str, DatasetDocument]:
        async with self.db.session() as session:
            rows = await session.scalars(sa.select(DatasetDocument).where(DatasetDocument.id.in_(document_ids)))
            return {d.id: d for d in rows}

    async def by_id(self, document_id: str) -> DatasetDocument | None:
        async with self.db.session() as session:
            return await session.get(DatasetDocument, document_id)

    async def page(
        self, dataset_id: str, *, page: int, limit: int, keyword: str | None = None, status: str | None = None
    ) -> tuple[list[DatasetDocument], int]:
        query = sa.select(DatasetDocument).where(DatasetDocument.dataset_id == dataset_id)
        if keyword:
            query = query.where(DatasetDocument.name.contains(keyword, autoescape=True))
        if status:
            query = query.where(_display_status_clause(status))
        async with self.db.session() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
            rows = await session.scalars(
                query.order_by(DatasetDocument.position.desc()).offset((page - 1) * limit).limit(limit)
            )
            return list(rows), int(total or 0)

    async def all_of(self, dataset_id: str) -> list[DatasetDocument]:
        async with self.db.session() as session:
            rows = await session.scalars(sa.select(DatasetDocument).where(DatasetDocument.dataset_id == dataset_id))
            return list(rows)

    async def batch(self, dataset_id: str, batch: str) -> list[DatasetDocument]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(DatasetDocument)
                .where(DatasetDocument.dataset_id == dataset_id, DatasetDocument.batch == batch)
                .order_by(DatasetDocument.position)
            )
            return list(rows)

    async def in_progress(self) -> list[DatasetDocument]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(DatasetDocument)
                .where(DatasetDocument.indexing_status.in_(IN_PROGRESS))
                .order_by(DatasetDocument.created_at)
            )
            return list(rows)

    async def update(self, document_id: str, *, reindex_dataset: str | None = None, **fields: Any) -> None:
        """Set fields; with `reindex_dataset` also tell search indexes of that dataset to reload (a document
        became searchable or stopped being so)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                sa.update(DatasetDocument).where(DatasetDocument.id == document_id).values(updated_at=now(), **fields)
            )
            if reindex_dataset is not None:
                await session.execute(bump_revision(reindex_dataset))

    async def claim(self, document_id: str) -> DatasetDocument | None:
        """Move a `waiting` document to `parsing`; None if another worker has it or it is gone."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                sa.update(DatasetDocument)
                .where(DatasetDocument.id == document_id, DatasetDocument.indexing_status == "waiting")
                .values(indexing_status="parsing", processing_started_at=now(), error=None, updated_at=now())
                .returning(DatasetDocument.id)
            )
            if result.first() is None:
                return None
            return await session.get(DatasetDocument, document_id)

    async def reset_to_waiting(self, document_ids: list[str]) -> None:
        if document_ids:
            async with self.db.session() as session, session.begin():
                await session.execute(
                    sa.update(DatasetDocument)
                    .where(DatasetDocument.id.in_(document_ids))
                    .values(indexing_status="waiting")
                )

    async def set_enabled(self, dataset_id: str, document_ids: list[str], action: str) -> None:
        """Dify's `documents/status/{enable|disable|archive|un_archive}`."""
        values: dict[str, dict[str, Any]] = {
            "enable": {"enabled": True, "disabled_at": None},
            "disable": {"enabled": False, "disabled_at": now()},
            "archive": {"archived": True},
            "un_archive": {"archived": False},
        }
        async with self.db.session() as session, session.begin():
            found = set(
                await session.scalars(
                    sa.select(DatasetDocument.id).where(
                        DatasetDocument.dataset_id == dataset_id, DatasetDocument.id.in_(document_ids)
                    )
                )
            )
            if missing := set(document_ids) - found:
                raise DocumentNotFound(f"Document {sorted(missing)[0]} not found.")
            await session.execute(
                sa.update(DatasetDocument)
                .where(DatasetDocument.id.in_(document_ids))
                .values(updated_at=now(), **values[action])
            )
            await session.execute(bump_revision(dataset_id))

    async def delete(self, dataset_id: str, document_id: str) -> DatasetDocument:
        async with self.db.session() as session, session.begin():
            document = await session.get(DatasetDocument, document_id)
            if document is None or document.dataset_id != dataset_id:
                raise DocumentNotFound()
            await session.execute(sa.delete(DatasetDocument).where(DatasetDocument.id == document_id))
            await session.execute(bump_revision(dataset_id))
            return document

    async def replace_segments(
        self, document: DatasetDocument, segments: list[DocumentSegment], children: list[ChildChunk]
    ) -> None:
        """Swap a document's chunks for freshly split ones (re-indexing); the dataset index reloads."""
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(DocumentSegment).where(DocumentSegment.document_id == document.id))
            session.add_all(segments)
            await session.flush()
            session.add_all(children)
            await session.execute(
                sa.update(DatasetDocument)
                .where(DatasetDocument.id == document.id)
                .values(total_segments=len(segments), completed_segments=0, updated_at=now())
            )
            await session.execute(bump_revision(document.dataset_id))

    async def store_embeddings(
        self,
        document_id: str,
        segment_vectors: dict[str, bytes | None],
        child_vectors: dict[str, bytes],
        completed_segments: int,
    ) -> None:
        async with self.db.session() as session, session.begin():
            ts = now()
            for segment_id, blob in segment_vectors.items():
                await session.execute(
                    sa.update(DocumentSegment)
                    .where(DocumentSegment.id == segment_id)
                    .values(embedding=blob, status="completed", completed_at=ts, updated_at=ts)
                )
            for child_id, blob in child_vectors.items():
                await session.execute(sa.update(ChildChunk).where(ChildChunk.id == child_id).values(embedding=blob))
            await session.execute(
                sa.update(DatasetDocument)
                .where(DatasetDocument.id == document_id)
                .values(completed_segments=completed_segments, updated_at=ts)
            )

    # ---- segments -------------------------------------------------------------------------------------------------

    async def segments(
        self,
        document_id: str,
        *,
        page: int = 1,
        limit: int = 20,
        keyword: str | None = None,
        status: str | None = None,
        enabled: bool | None = None,
    ) -> tuple[list[DocumentSegment], int]:
        query = sa.select(DocumentSegment).where(DocumentSegment.document_id == document_id)
        if keyword:
            query = query.where(DocumentSegment.content.contains(keyword, autoescape=True))
        if status:
            query = query.where(DocumentSegment.status == status)
        if enabled is not None:
            query = query.where(DocumentSegment.enabled.is_(enabled))
        async with self.db.session() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
            rows = await session.scalars(
                query.order_by(DocumentSegment.position).offset((page - 1) * limit).limit(limit)
            )
            return list(rows), int(total or 0)

    async def segment(self, document_id: str, segment_id: str) -> DocumentSegment:
        async with self.db.session() as session:
            segment = await session.get(DocumentSegment, segment_id)
        if segment is None or segment.document_id != document_id:
            raise SegmentNotFound()
        return segment

    async def segments_by_id(self, segment_ids: list[str]) -> dict[str, DocumentSegment]:
        async with self.db.session() as session:
            rows = await session.scalars(sa.select(DocumentSegment).where(DocumentSegment.id.in_(segment_ids)))
            return {s.id: s for s in rows}

    async def add_segments(
        self, document: DatasetDocument, segments: list[DocumentSegment], children: list[ChildChunk]
    ) -> None:
        async with self.db.session() as session, session.begin():
            last = await session.scalar(
                sa.select(sa.func.max(DocumentSegment.position)).where(DocumentSegment.document_id == document.id)
            )
            for offset, segment in enumerate(segments, start=1):
                segment.position = (last or 0) + offset
            session.add_all(segments)
            await session.flush()
            session.add_all(children)
            await self._refresh_counts(session, document.id)
            await session.execute(bump_revision(document.dataset_id))

    async def save_segment(self, segment: DocumentSegment, children: list[ChildChunk] | None = None) -> None:
        """Write an edited segment; `children` (when given) replace its child chunks."""
        async with self.db.session() as session, session.begin():
            segment.updated_at = now()
            await session.merge(segment)
            if children is not None:
                await session.execute(sa.delete(ChildChunk).where(ChildChunk.segment_id == segment.id))
                session.add_all(children)
            await self._refresh_counts(session, segment.document_id)
            await session.execute(bump_revision(segment.dataset_id))

    async def delete_segment(self, segment: DocumentSegment) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(DocumentSegment).where(DocumentSegment.id == segment.id))
            await self._refresh_counts(session, segment.document_id)
            await session.execute(bump_revision(segment.dataset_id))

    @staticmethod
    async def _refresh_counts(session: AsyncSession, document_id: str) -> None:
        count, words, tokens = (
            await session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(DocumentSegment.word_count), 0),
                    sa.func.coalesce(sa.func.sum(DocumentSegment.tokens), 0),
                ).where(DocumentSegment.document_id == document_id)
            )
        ).one()
        await session.execute(
            sa.update(DatasetDocument)
            .where(DatasetDocument.id == document_id)
            .values(total_segments=count, completed_segments=count, word_count=words, tokens=tokens, updated_at=now())
        )

    async def count_hits(self, segment_ids: list[str]) -> None:
        if segment_ids:
            async with self.db.session() as session, session.begin():
                await session.execute(
                    sa.update(DocumentSegment)
                    .where(DocumentSegment.id.in_(segment_ids))
                    .values(hit_count=DocumentSegment.hit_count + 1)
                )

    # ---- child chunks ---------------------------------------------------------------------------------------------

    async def children(self, segment_ids: list[str]) -> dict[str, list[ChildChunk]]:
        out: dict[str, list[ChildChunk]] = {s: [] for s in segment_ids}
        if not segment_ids:
            return out
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(ChildChunk).where(ChildChunk.segment_id.in_(segment_ids)).order_by(ChildChunk.position)
            )
            for child in rows:
                out[child.segment_id].append(child)
        return out

    async def child(self, segment_id: str, child_id: str) -> ChildChunk:
        async with self.db.session() as session:
            child = await session.get(ChildChunk, child_id)
        if child is None or child.segment_id != segment_id:
            raise ChildChunkNotFound()
        return child

    async def save_child(self, child: ChildChunk, *, new: bool) -> None:
        async with self.db.session() as session, session.begin():
            if new:
                last = await session.scalar(
                    sa.select(sa.func.max(ChildChunk.position)).where(ChildChunk.segment_id == child.segment_id)
                )
                child.position = (last or 0) + 1
                session.add(child)
            else:
                child.updated_at = now()
                await session.merge(child)
            await session.execute(bump_revision(child.dataset_id))

    async def delete_child(self, child: ChildChunk) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(sa.delete(ChildChunk).where(ChildChunk.id == child.id))
            await session.execute(bump_revision(child.dataset_id))


def display_status(document: DatasetDocument) -> str:
    """Dify's `display_status`: queuing, indexing, paused, error, available, disabled, archived."""
    status = document.indexing_status
    if status == "waiting":
        return "queuing"
    if status in ("parsing", "cleaning", "splitting", "indexing"):
        return "indexing"
    if status == "paused":
        return "paused"
    if status == "error":
        return "error"
    if document.archived:
        return "archived"
    if not document.enabled:
        return "disabled"
    return "available"


def _display_status_clause(status: str) -> sa.ColumnElement[bool]:
    d = DatasetDocument
    completed = d.indexing_status == "completed"
    return {
        "queuing": d.indexing_status == "waiting",
        "indexing": d.indexing_status.in_(("parsing", "cleaning", "splitting", "indexing")),
        "paused": d.indexing_status == "paused",
        "error": d.indexing_status == "error",
        "available": sa.and_(completed, d.enabled.is_(True), d.archived.is_(False)),
        "disabled": sa.and_(completed, d.enabled.is_(False), d.archived.is_(False)),
        "archived": sa.and_(completed, d.archived.is_(True)),
    }.get(status, sa.false())

"""App annotations (Dify's `message_annotations`): question/answer pairs an app answers with directly when a query
matches a question closely enough, the app's annotation-reply setting, the hits (which message an annotation
answered) and the enable/disable jobs of `/apps/annotation-reply/{action}`.

An annotation's question vector (`embedding`, float32 bytes) is kept on its row with the model that made it, so a
match compares only vectors of the model the setting names; a setting change re-embeds every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import Base

JOB_ACTIVE = ("waiting", "processing")
JOB_ABANDONED_AFTER_S = 600.0
"""A job waiting or processing this long without news ran in a process that is gone: a new request starts anew."""
ABANDONED = "The server stopped while this job was in progress."


class AnnotationRow(Base):
    __tablename__ = "app_annotations"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    hit_count: Mapped[int] = mapped_column(default=0)
    embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[float]
    updated_at: Mapped[float]

    __table_args__ = (sa.Index("ix_app_annotations_app_created", "app_id", "created_at"),)


class AnnotationSettingRow(Base):
    """Annotation reply is on for an app exactly when it has this row."""

    __tablename__ = "app_annotation_settings"

    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    score_threshold: Mapped[float]
    embedding_provider_name: Mapped[str] = mapped_column(sa.String(255))
    embedding_model_name: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[float]
    updated_at: Mapped[float]


class AnnotationHitRow(Base):
    """One reply given from an annotation: the message it answered, the query and its similarity score."""

    __tablename__ = "app_annotation_hits"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    annotation_id: Mapped[str] = mapped_column(sa.ForeignKey("app_annotations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    end_user_id: Mapped[str] = mapped_column(sa.String(36))
    source: Mapped[str] = mapped_column(sa.String(32), default="api")
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    query: Mapped[str] = mapped_column(sa.Text)
    score: Mapped[float]
    created_at: Mapped[float]


class AnnotationJobRow(Base):
    """An enable/disable job of annotation reply: waiting → processing → completed | error."""

    __tablename__ = "app_annotation_jobs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    error_msg: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[float]
    updated_at: Mapped[float]


@dataclass(frozen=True, slots=True)
class Annotation:
    id: str
    app_id: str
    question: str
    answer: str
    hit_count: int
    created_at: float


@dataclass(frozen=True, slots=True)
class AnnotationSetting:
    app_id: str
    score_threshold: float
    embedding_provider_name: str
    embedding_model_name: str


@dataclass(frozen=True, slots=True)
class AnnotationJob:
    id: str
    app_id: str
    action: str
    status: str
    error_msg: str


@dataclass(frozen=True, slots=True)
class StoredVector:
    annotation_id: str
    embedding: bytes


def _annotation(row: AnnotationRow) -> Annotation:
    return Annotation(row.id, row.app_id, row.question, row.answer, row.hit_count, row.created_at)


def _setting(row: AnnotationSettingRow) -> AnnotationSetting:
    return AnnotationSetting(row.app_id, row.score_threshold, row.embedding_provider_name, row.embedding_model_name)


def _job(row: AnnotationJobRow) -> AnnotationJob:
    return AnnotationJob(row.id, row.app_id, row.action, row.status, row.error_msg)


def _like(keyword: str) -> str:
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AnnotationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- annotations ------------------------------------------------------------------------------------------

    async def add(self, app_id: str, question: str, answer: str) -> Annotation:
        created = now()
        row = AnnotationRow(
            id=new_id(),
            app_id=app_id,
            question=question,
            answer=answer,
            hit_count=0,
            embedding=None,
            embedding_model=None,
            created_at=created,
            updated_at=created,
        )
        async with self.db.session() as session, session.begin():
            session.add(row)
        return _annotation(row)

    async def get(self, app_id: str, annotation_id: str) -> Annotation | None:
        async with self.db.session() as session:
            row = await session.get(AnnotationRow, annotation_id)
        return _annotation(row) if row is not None and row.app_id == app_id else None

    async def update(self, app_id: str, annotation_id: str, question: str, answer: str) -> Annotation | None:
        """Change the pair; its old vector is dropped (the caller embeds the new question)."""
        async with self.db.session() as session, session.begin():
            row = await session.get(AnnotationRow, annotation_id)
            if row is None or row.app_id != app_id:
                return None
            row.question, row.answer, row.updated_at = question, answer, now()
            row.embedding = row.embedding_model = None
            return _annotation(row)

    async def delete(self, app_id: str, annotation_id: str) -> bool:
        """Delete the annotation and its hits."""
        async with self.db.write() as conn:
            await conn.execute(
                sa.delete(AnnotationHitRow).where(
                    AnnotationHitRow.annotation_id == annotation_id, AnnotationHitRow.app_id == app_id
                )
            )
            deleted = await conn.execute(
                sa.delete(AnnotationRow)
                .where(AnnotationRow.id == annotation_id, AnnotationRow.app_id == app_id)
                .returning(AnnotationRow.id)
            )
            return deleted.first() is not None

    async def page(self, app_id: str, *, page: int, limit: int, keyword: str = "") -> tuple[list[Annotation], int]:
        """One page of the app's annotations, newest first, and how many match in all. `keyword` is a
        case-insensitive substring of the question or the answer."""
        where = [AnnotationRow.app_id == app_id]
        if keyword:
            pattern = _like(keyword)
            where.append(
                sa.or_(
                    AnnotationRow.question.ilike(pattern, escape="\\"),
                    AnnotationRow.answer.ilike(pattern, escape="\\"),
                )
            )
        async with self.db.session() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(AnnotationRow).where(*where))
            rows = await session.scalars(
                sa.select(AnnotationRow)
                .where(*where)
                .order_by(AnnotationRow.created_at.desc(), AnnotationRow.id.desc())
                .offset((page - 1) * limit)
                .limit(limit)
            )
            return [_annotation(r) for r in rows], int(total or 0)

    # ---- vectors ----------------------------------------------------------------------------------------------

    async def unembedded(self, app_id: str, model: str) -> list[Annotation]:
        """The app's annotations without a vector of `model`."""
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(AnnotationRow).where(
                    AnnotationRow.app_id == app_id,
                    sa.or_(AnnotationRow.embedding_model.is_(None), AnnotationRow.embedding_model != model),
                )
            )
            return [_annotation(r) for r in rows]

    async def set_vectors(self, app_id: str, model: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        """Store question vectors (annotation id, float32 bytes) made by `model`."""
        if not vectors:
            return
        async with self.db.write() as conn:
            for annotation_id, blob in vectors:
                await conn.execute(
                    sa.update(AnnotationRow)
                    .where(AnnotationRow.id == annotation_id, AnnotationRow.app_id == app_id)
                    .values(embedding=blob, embedding_model=model)
                )

    async def clear_vectors(self, app_id: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(AnnotationRow)
                .where(AnnotationRow.app_id == app_id)
                .values(embedding=None, embedding_model=None)
            )

    async def vectors(self, app_id: str, model: str) -> list[StoredVector]:
        async with self.db.session() as session:
            rows = await session.execute(
                sa.select(AnnotationRow.id, AnnotationRow.embedding).where(
                    AnnotationRow.app_id == app_id,
                    AnnotationRow.embedding_model == model,
                    AnnotationRow.embedding.is_not(None),
                )
            )
            return [StoredVector(r.id, r.embedding) for r in rows]

    # ---- hits -------------------------------------------------------------------------------------------------

    async def record_hit(
        self, annotation: Annotation, *, message_id: str, end_user_id: str, query: str, score: float
    ) -> None:
        """Link the message to the annotation that answered it and count the hit."""
        async with self.db.write() as conn:
            await conn.execute(
                sa.insert(AnnotationHitRow).values(
                    id=new_id(),
                    app_id=annotation.app_id,
                    annotation_id=annotation.id,
                    message_id=message_id,
                    end_user_id=end_user_id,
                    source="api",
                    question=annotation.question,
                    answer=annotation.answer,
                    query=query,
                    score=score,
                    created_at=now(),
                )
            )
            await conn.execute(
                sa.update(AnnotationRow)
                .where(AnnotationRow.id == annotation.id)
                .values(hit_count=AnnotationRow.hit_count + 1)
            )

    async def hit_of_message(self, message_id: str) -> str | None:
        """The id of the annotation that answered this message, if one did."""
        async with self.db.session() as session:
            return await session.scalar(
                sa.select(AnnotationHitRow.annotation_id).where(AnnotationHitRow.message_id == message_id).limit(1)
            )

    # ---- setting ----------------------------------------------------------------------------------------------

    async def setting(self, app_id: str) -> AnnotationSetting | None:
        async with self.db.session() as session:
            row = await session.get(AnnotationSettingRow, app_id)
            return _setting(row) if row is not None else None

    async def put_setting(self, setting: AnnotationSetting) -> None:
        async with self.db.session() as session, session.begin():
            row = await session.get(AnnotationSettingRow, setting.app_id)
            if row is None:
                session.add(
                    AnnotationSettingRow(
                        app_id=setting.app_id,
                        score_threshold=setting.score_threshold,
                        embedding_provider_name=setting.embedding_provider_name,
                        embedding_model_name=setting.embedding_model_name,
                        created_at=now(),
                        updated_at=now(),
                    )
                )
            else:
                row.score_threshold = setting.score_threshold
                row.embedding_provider_name = setting.embedding_provider_name
                row.embedding_model_name = setting.embedding_model_name
                row.updated_at = now()

    async def delete_setting(self, app_id: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(sa.delete(AnnotationSettingRow).where(AnnotationSettingRow.app_id == app_id))

    # ---- jobs -------------------------------------------------------------------------------------------------

    async def start_job(self, app_id: str, action: str) -> tuple[AnnotationJob, bool]:
        """A new waiting job, or (False) the app's job of this action still waiting or processing (one abandoned
        by a stopped process is marked failed and a new one starts)."""
        async with self.db.session() as session, session.begin():
            active = await session.scalar(
                sa.select(AnnotationJobRow)
                .where(
                    AnnotationJobRow.app_id == app_id,
                    AnnotationJobRow.action == action,
                    AnnotationJobRow.status.in_(JOB_ACTIVE),
                )
                .limit(1)
            )
            if active is not None and active.updated_at > now() - JOB_ABANDONED_AFTER_S:
                return _job(active), False
            if active is not None:
                active.status, active.error_msg, active.updated_at = "error", ABANDONED, now()
            row = AnnotationJobRow(
                id=new_id(),
                app_id=app_id,
                action=action,
                status="waiting",
                error_msg="",
                created_at=now(),
                updated_at=now(),
            )
            session.add(row)
            return _job(row), True

    async def set_job(self, job_id: str, status: str, error_msg: str = "") -> None:
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(AnnotationJobRow)
                .where(AnnotationJobRow.id == job_id)
                .values(status=status, error_msg=error_msg, updated_at=now())
            )

    async def job(self, app_id: str, action: str, job_id: str) -> AnnotationJob | None:
        async with self.db.session() as session:
            row = await session.get(AnnotationJobRow, job_id)
        if row is None or row.app_id != app_id or row.action != action:
            return None
        if row.status in JOB_ACTIVE and row.updated_at <= now() - JOB_ABANDONED_AFTER_S:
            return AnnotationJob(row.id, row.app_id, row.action, "error", ABANDONED)
        return _job(row)

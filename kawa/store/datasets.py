"""`DatasetStore`: the repository of knowledge datasets and their metadata fields (create, list, update, delete;
document metadata values). Used by kawa.knowledge, which keeps the domain logic (chunking, indexing, retrieval)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kawa.errors import DatasetNameDuplicate, DatasetNotFound, DocumentNotFound, InvalidParam, MetadataNotFound
from kawa.store.clock import new_id, now
from kawa.store.database import AsyncSession, Database
from kawa.store.knowledge_tables import Dataset, DatasetDocument, DatasetMetadataField

BUILT_IN_FIELDS = [
    {"name": "document_name", "type": "string"},
    {"name": "uploader", "type": "string"},
    {"name": "upload_date", "type": "time"},
    {"name": "last_update_date", "type": "time"},
    {"name": "source", "type": "string"},
]
METADATA_TYPES = ("string", "number", "time")


@dataclass(frozen=True)
class DatasetCounts:
    document_count: int = 0
    available_document_count: int = 0
    word_count: int = 0


def bump_revision(dataset_id: str) -> sa.Update:
    """The statement that tells every process's search index of this dataset to reload."""
    return (
        sa.update(Dataset)
        .where(Dataset.id == dataset_id)
        .values(index_revision=Dataset.index_revision + 1, updated_at=now())
    )


class DatasetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        name: str,
        description: str,
        indexing_technique: str | None,
        permission: str,
        provider: str,
        retrieval_model: dict[str, Any],
        embedding_model: str | None,
        embedding_model_provider: str | None,
    ) -> Dataset:
        """A new dataset without documents (so without a `doc_form` yet); its name must be unique."""
        ts = now()
        dataset = Dataset(
            id=new_id(),
            name=name,
            description=description,
            indexing_technique=indexing_technique,
            permission=permission,
            provider=provider,
            retrieval_model=retrieval_model,
            embedding_model=embedding_model,
            embedding_model_provider=embedding_model_provider,
            doc_form=None,
            built_in_field_enabled=False,
            enable_api=True,
            index_revision=0,
            created_at=ts,
            updated_at=ts,
        )
        try:
            async with self.db.session() as session, session.begin():
                if await session.scalar(sa.select(Dataset.id).where(Dataset.name == dataset.name)):
                    raise DatasetNameDuplicate()
                session.add(dataset)
        except IntegrityError:
            raise DatasetNameDuplicate() from None
        return dataset

    async def get(self, dataset_id: str) -> Dataset:
        async with self.db.session() as session:
            dataset = await session.get(Dataset, dataset_id)
        if dataset is None:
            raise DatasetNotFound()
        return dataset

    async def find(self, dataset_ids: list[str]) -> dict[str, Dataset]:
        async with self.db.session() as session:
            rows = await session.scalars(sa.select(Dataset).where(Dataset.id.in_(dataset_ids)))
            return {d.id: d for d in rows}

    async def page(
        self, *, page: int, limit: int, keyword: str | None = None, among: list[str] | None = None
    ) -> tuple[list[Dataset], int]:
        """A page of datasets, newest first; `among` keeps only those ids (the datasets of some tags)."""
        query = sa.select(Dataset)
        if among is not None:
            query = query.where(Dataset.id.in_(among))
        if keyword:
            query = query.where(Dataset.name.contains(keyword, autoescape=True))
        async with self.db.session() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
            rows = await session.scalars(
                query.order_by(Dataset.created_at.desc(), Dataset.id).offset((page - 1) * limit).limit(limit)
            )
            return list(rows), int(total or 0)

    async def counts(self, dataset_ids: list[str]) -> dict[str, DatasetCounts]:
        if not dataset_ids:
            return {}
        available = sa.and_(
            DatasetDocument.indexing_status == "completed",
            DatasetDocument.enabled.is_(True),
            DatasetDocument.archived.is_(False),
        )
        query = (
            sa.select(
                DatasetDocument.dataset_id,
                sa.func.count(),
                sa.func.sum(sa.case((available, 1), else_=0)),
                sa.func.coalesce(sa.func.sum(DatasetDocument.word_count), 0),
            )
            .where(DatasetDocument.dataset_id.in_(dataset_ids))
            .group_by(DatasetDocument.dataset_id)
        )
        async with self.db.session() as session:
            return {
                row[0]: DatasetCounts(int(row[1]), int(row[2] or 0), int(row[3] or 0))
                for row in (await session.execute(query)).all()
            }

    async def update(self, dataset_id: str, fields: dict[str, Any]) -> Dataset:
        try:
            async with self.db.session() as session, session.begin():
                dataset = await session.get(Dataset, dataset_id)
                if dataset is None:
                    raise DatasetNotFound()
                name = fields.get("name")
                if (
                    name
                    and name != dataset.name
                    and await session.scalar(sa.select(Dataset.id).where(Dataset.name == name))
                ):
                    raise DatasetNameDuplicate()
                for key, value in fields.items():
                    setattr(dataset, key, value)
                dataset.updated_at = now()
                # Retrieval settings may change what a search returns: let caches reload.
                dataset.index_revision += 1
                return dataset
        except IntegrityError:
            raise DatasetNameDuplicate() from None

    async def delete(self, dataset_id: str) -> Dataset:
        async with self.db.session() as session, session.begin():
            dataset = await session.get(Dataset, dataset_id)
            if dataset is None:
                raise DatasetNotFound()
            await session.execute(sa.delete(Dataset).where(Dataset.id == dataset_id))
            return dataset

    # ---- metadata fields ------------------------------------------------------------------------------------------

    async def fields(self, dataset_id: str) -> list[DatasetMetadataField]:
        async with self.db.session() as session:
            rows = await session.scalars(
                sa.select(DatasetMetadataField)
                .where(DatasetMetadataField.dataset_id == dataset_id)
                .order_by(DatasetMetadataField.created_at)
            )
            return list(rows)

    async def field_counts(self, dataset_id: str) -> dict[str, int]:
        """How many documents have a value for each field name."""
        async with self.db.session() as session:
            metas = await session.scalars(
                sa.select(DatasetDocument.doc_metadata).where(DatasetDocument.dataset_id == dataset_id)
            )
            counts: dict[str, int] = {}
            for meta in metas:
                for name, value in (meta or {}).items():
                    if value is not None:
                        counts[name] = counts.get(name, 0) + 1
            return counts

    async def create_field(self, dataset_id: str, name: str, type_: str) -> DatasetMetadataField:
        if type_ not in METADATA_TYPES:
            raise InvalidParam(f"Invalid metadata type: {type_}")
        if not name or len(name) > 255:
            raise InvalidParam("Metadata name must be 1 to 255 characters.")
        if name in {f["name"] for f in BUILT_IN_FIELDS}:
            raise InvalidParam("Metadata name already exists in Built-in fields.")
        await self.get(dataset_id)
        field = DatasetMetadataField(id=new_id(), dataset_id=dataset_id, name=name, type=type_, created_at=now())
        try:
            async with self.db.session() as session, session.begin():
                session.add(field)
        except IntegrityError:
            raise InvalidParam("Metadata name already exists.") from None
        return field

    async def rename_field(self, dataset_id: str, field_id: str, name: str) -> DatasetMetadataField:
        if not name or len(name) > 255:
            raise InvalidParam("Metadata name must be 1 to 255 characters.")
        async with self.db.session() as session, session.begin():
            field = await session.get(DatasetMetadataField, field_id)
            if field is None or field.dataset_id != dataset_id:
                raise MetadataNotFound()
            old = field.name
            if name != old and await session.scalar(
                sa.select(DatasetMetadataField.id).where(
                    DatasetMetadataField.dataset_id == dataset_id, DatasetMetadataField.name == name
                )
            ):
                raise InvalidParam("Metadata name already exists.")
            field.name = name
            await self._rewrite_values(session, dataset_id, lambda meta: _renamed(meta, old, name))
            return field

    async def delete_field(self, dataset_id: str, field_id: str) -> None:
        async with self.db.session() as session, session.begin():
            field = await session.get(DatasetMetadataField, field_id)
            if field is None or field.dataset_id != dataset_id:
                raise MetadataNotFound()
            await session.delete(field)
            await self._rewrite_values(
                session, dataset_id, lambda meta: {k: v for k, v in meta.items() if k != field.name}
            )

    @staticmethod
    async def _rewrite_values(
        session: AsyncSession, dataset_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        documents = await session.scalars(sa.select(DatasetDocument).where(DatasetDocument.dataset_id == dataset_id))
        for document in documents:
            document.doc_metadata = change(dict(document.doc_metadata or {}))

    async def set_document_values(self, dataset_id: str, operations: list[dict[str, Any]]) -> None:
        """Dify's `operation_data`: each document's metadata becomes exactly `metadata_list` (by field id)."""
        fields = {f.id: f for f in await self.fields(dataset_id)}
        async with self.db.session() as session, session.begin():
            for op in operations:
                document = await session.get(DatasetDocument, str(op.get("document_id")))
                if document is None or document.dataset_id != dataset_id:
                    raise DocumentNotFound()
                values: dict[str, Any] = {}
                for item in op.get("metadata_list") or []:
                    field = fields.get(str(item.get("id")))
                    if field is None:
                        raise MetadataNotFound()
                    values[field.name] = _coerce(item.get("value"), field.type)
                document.doc_metadata = values
                document.updated_at = now()


def _renamed(meta: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    if old in meta:
        meta[new] = meta.pop(old)
    return meta


def _coerce(value: Any, type_: str) -> Any:
    if value is None or value == "":
        return None
    if type_ in ("number", "time"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidParam(f"Metadata value {value!r} is not a {type_}.") from None
        return int(number) if number.is_integer() else number
    return str(value)

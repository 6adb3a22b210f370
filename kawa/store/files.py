"""Uploaded file records (the bytes live in a `kawa.files` storage backend).

The store sits beside kawa.files in the layering, so it names what it needs of it as Protocols: the facts of a
stored upload (`kawa.files.upload.StoredUpload` has them) and a key-to-bytes reader (any `FileStorage`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from kawa.errors import FileNotFound
from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import UploadFile


class StoredFileFacts(Protocol):
    """What is known of a file once its bytes are in storage under `storage_key`."""

    @property
    def name(self) -> str: ...
    @property
    def extension(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def storage_key(self) -> str: ...


@dataclass(frozen=True, slots=True)
class UploadFileRecord:
    """An uploaded file as callers see it: who uploaded it, what it is, where its bytes are."""

    id: str
    app_id: str
    end_user_id: str
    name: str
    size: int
    extension: str
    mime_type: str
    storage_key: str
    sha256: str
    created_at: float

    @classmethod
    def of(cls, row: UploadFile) -> UploadFileRecord:
        return cls(
            id=row.id,
            app_id=row.app_id,
            end_user_id=row.end_user_id,
            name=row.name,
            size=row.size,
            extension=row.extension,
            mime_type=row.mime_type,
            storage_key=row.storage_key,
            sha256=row.sha256,
            created_at=row.created_at,
        )


class BlobReader(Protocol):
    async def read(self, key: str) -> bytes: ...


class UploadFileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, app_id: str, end_user_id: str, stored: StoredFileFacts) -> UploadFileRecord:
        record = UploadFile(
            id=new_id(),
            app_id=app_id,
            end_user_id=end_user_id,
            name=stored.name,
            size=stored.size,
            extension=stored.extension,
            mime_type=stored.mime_type,
            storage_key=stored.storage_key,
            sha256=stored.sha256,
            created_at=now(),
        )
        async with self.db.session() as session, session.begin():
            session.add(record)
        return UploadFileRecord.of(record)

    async def get(self, file_id: str, *, app_id: str) -> UploadFileRecord | None:
        """The file if it belongs to `app_id`; files of other apps do not exist from this app's point of view."""
        async with self.db.session() as session:
            record = await session.get(UploadFile, file_id)
            return UploadFileRecord.of(record) if record is not None and record.app_id == app_id else None

    def reader(self, storage: BlobReader) -> Callable[[str, str], Awaitable[bytes]]:
        """`await read(app_id, file_id)`: the bytes of an upload of that app."""

        async def read(app_id: str, file_id: str) -> bytes:
            record = await self.get(file_id, app_id=app_id)
            if record is None:
                raise FileNotFound(f"upload file {file_id} not found")
            return await storage.read(record.storage_key)

        return read

    async def get_any(self, file_id: str) -> UploadFileRecord | None:
        """The file whatever its app; only for requests that proved access another way (a signed URL)."""
        async with self.db.session() as session:
            record = await session.get(UploadFile, file_id)
            return None if record is None else UploadFileRecord.of(record)

"""Uploaded file records (the bytes live in a FileStorage backend)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kawa.errors import NotFound
from kawa.files.storage import FileStorage
from kawa.files.upload import StoredUpload
from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.tables import UploadFile


class UploadFileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, app_id: str, end_user_id: str, stored: StoredUpload) -> UploadFile:
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
        return record

    async def get(self, file_id: str, *, app_id: str) -> UploadFile | None:
        """The file if it belongs to `app_id`; files of other apps do not exist from this app's point of view."""
        async with self.db.session() as session:
            record = await session.get(UploadFile, file_id)
            return record if record is not None and record.app_id == app_id else None

    def reader(self, storage: FileStorage) -> Callable[[str, str], Awaitable[bytes]]:
        """`await read(app_id, file_id)`: the bytes of an upload of that app."""

        async def read(app_id: str, file_id: str) -> bytes:
            record = await self.get(file_id, app_id=app_id)
            if record is None:
                raise NotFound(f"upload file {file_id} not found", code="file_not_found")
            return await storage.read(record.storage_key)

        return read

    async def get_any(self, file_id: str) -> UploadFile | None:
        """The file whatever its app; only for requests that proved access another way (a signed URL)."""
        async with self.db.session() as session:
            return await session.get(UploadFile, file_id)

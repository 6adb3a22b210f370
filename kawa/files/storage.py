"""Storage backends for uploaded files: local disk (default) and S3-compatible.

Writers are atomic: a file becomes visible only on `commit()`; `abort()` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any, Protocol

from kawa.files.settings import StorageSettings

CHUNK = 256 * 1024


class StorageWriter(Protocol):
    def write(self, data: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class FileStorage(Protocol):
    def writer(self, key: str) -> StorageWriter: ...
    async def read(self, key: str) -> bytes: ...
    def stream(self, key: str) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def writer(self, key: str) -> _LocalWriter:
        return _LocalWriter(self.path(key))

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        with self.path(key).open("rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self.path(key).exists()


class _LocalWriter:
    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target = target
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        self.tmp = Path(tmp)
        self.fh: IO[bytes] = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self.fh.write(data)

    async def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.target)

    async def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


class S3Storage:
    """Any S3-compatible store through boto3 (an optional dependency: `pip install kawa[s3]`)."""

    def __init__(self, settings: StorageSettings) -> None:
        import boto3

        if not settings.s3_bucket:
            raise ValueError("KAWA_STORAGE__S3_BUCKET is required for the s3 storage backend")
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret,
        )
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix

    def writer(self, key: str) -> _S3Writer:
        return _S3Writer(self, self.prefix + key)

    async def read(self, key: str) -> bytes:
        obj = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self.prefix + key)
        return await asyncio.to_thread(obj["Body"].read)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        obj = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self.prefix + key)
        body = obj["Body"]
        while chunk := await asyncio.to_thread(body.read, CHUNK):
            yield chunk

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self.prefix + key)

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self.prefix + key)
        except Exception:
            return False
        return True


class _S3Writer:
    """Spools to a temporary file (memory up to 1 MB, then disk) and uploads on commit."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self.storage = storage
        self.key = key
        self.spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed on commit/abort

    def write(self, data: bytes) -> None:
        self.spool.write(data)

    async def commit(self) -> None:
        self.spool.seek(0)
        try:
            await asyncio.to_thread(self.storage.client.upload_fileobj, self.spool, self.storage.bucket, self.key)
        finally:
            self.spool.close()

    async def abort(self) -> None:
        self.spool.close()


def build_storage(settings: StorageSettings, files_dir: Path) -> FileStorage:
    if settings.backend == "s3":
        return S3Storage(settings)
    return LocalStorage(files_dir)

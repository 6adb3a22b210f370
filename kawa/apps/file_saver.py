"""`UploadFileSaver`: the workflow's `FileSaver` seam over upload files (storage backend + `UploadFileStore`).

Bytes a node produced (an http-request file response) become an upload file of the run's app and end user, and
the node gets Dify's file value for it (`transfer_method: tool_file`, as Dify keeps such files) with a signed URL,
so the file reaches run outputs and later nodes like any upload.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from kawa.files.signing import sign_file_url
from kawa.files.storage import FileStorage
from kawa.files.types import file_kind, guess_mime
from kawa.files.upload import StoredUpload, clean_filename
from kawa.store.end_users import EndUserStore
from kawa.store.files import UploadFileStore
from kawa.workflow.ports import FileOwner


class UploadFileSaver:
    def __init__(
        self,
        files: UploadFileStore,
        end_users: EndUserStore,
        storage: FileStorage,
        *,
        base_url: str,
        signing_key: bytes,
    ) -> None:
        self._files = files
        self._end_users = end_users
        self._storage = storage
        self._base_url = base_url
        self._signing_key = signing_key

    async def save(self, content: bytes, *, filename: str, mime_type: str, owner: FileOwner) -> dict[str, Any]:
        if not owner.app_id:
            raise ValueError("Cannot keep the file: the run belongs to no app.")
        name = clean_filename(filename) or "file"
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        key = f"upload_files/{uuid.uuid4().hex}" + (f".{extension}" if extension else "")
        writer = self._storage.writer(key)
        try:
            writer.write(content)
            await writer.commit()
        except BaseException:
            await writer.abort()
            raise
        end_user = await self._end_users.get_or_create(owner.app_id, owner.user_id or None)
        stored = StoredUpload(
            name=name,
            extension=extension,
            mime_type=guess_mime(name, mime_type),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            storage_key=key,
        )
        record = await self._files.add(owner.app_id, end_user.id, stored)
        return {
            "dify_model_identity": "__dify__file__",
            "id": None,
            "tenant_id": owner.app_id,
            "type": file_kind(extension) or "custom",
            "transfer_method": "tool_file",
            "remote_url": None,
            "related_id": record.id,
            "filename": record.name,
            "extension": f".{extension}" if extension else "",
            "mime_type": record.mime_type,
            "size": record.size,
            "url": sign_file_url(self._base_url, record.id, self._signing_key),
        }

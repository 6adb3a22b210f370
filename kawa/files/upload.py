"""Streaming multipart upload: each file part goes straight into storage, chunk by chunk, under a generated key.

The size limit depends on the file's kind, known from its name before its bytes arrive, so a file one byte over
the limit is refused while it streams and its partial copy is discarded; nothing is held whole in memory.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import PurePosixPath, PureWindowsPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from kawa.errors import (
    BadRequest,
    FilenameMissing,
    FileTooLarge,
    InvalidParam,
    KawaError,
    NoFileUploaded,
    TooManyFiles,
    UnsupportedFileTypeError,
)
from kawa.files.settings import UploadSettings
from kawa.files.storage import FileStorage, StorageWriter
from kawa.files.types import file_kind, guess_mime

MAX_FIELD_BYTES = 64 * 1024
MAX_NAME_LENGTH = 200
# Characters Dify refuses in an uploaded file's name (its FileService): `invalid_param`, 400.
FORBIDDEN_NAME_CHARACTERS = frozenset('/\\:*?"<>|')


@dataclass
class StoredUpload:
    name: str
    extension: str
    mime_type: str
    size: int
    sha256: str
    storage_key: str


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[StoredUpload] = field(default_factory=list)


def size_limit_bytes(kind: str, limits: UploadSettings) -> int:
    mb = {"image": limits.image_mb, "audio": limits.audio_mb, "video": limits.video_mb}.get(kind, limits.document_mb)
    return mb * 1024 * 1024


def disposition_params(value: str) -> dict[str, str]:
    """The parameters of a part's Content-Disposition, names lower-cased. Values are text: a quoted `filename`
    may carry UTF-8 directly (RFC 7578), and an RFC 5987 `filename*=UTF-8''...` wins over the plain one."""
    message = Message()
    message["content-disposition"] = value
    plain: dict[str, str] = {}
    extended: dict[str, str] = {}
    for key, raw in (message.get_params(header="content-disposition") or [])[1:]:
        if isinstance(raw, tuple):
            extended[key.lower()] = collapse_rfc2231_value(raw)
        else:
            plain[key.lower()] = raw
    return {**plain, **extended}


def _header_text(raw: bytes) -> str:
    """A part header's value: UTF-8 as RFC 7578 asks, else Latin-1 (old clients), never a replacement char."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def clean_filename(raw: str) -> str:
    """The client's file name without any path, truncated as Dify does; it is only ever shown, never used as a path."""
    name = PureWindowsPath(PurePosixPath(raw).name).name.strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME_LENGTH - len(ext) - 1] + dot + ext) if dot else name[:MAX_NAME_LENGTH]
    return name


class _PartState:
    def __init__(self) -> None:
        self.headers = Message()
        self.header_field = b""
        self.header_value = b""
        self.field_name: str | None = None
        self.filename: str | None = None
        self.content_type: str | None = None
        self.buffer = bytearray()
        self.writer: StorageWriter | None = None
        self.key = ""
        self.size = 0
        self.limit = 0
        self.kind = ""
        self.hasher = hashlib.sha256()


class UploadReader:
    """Reads one multipart body. Use `await reader.read(chunks)`; on error every partial file is removed."""

    def __init__(self, content_type: str, storage: FileStorage, limits: UploadSettings, *, max_files: int = 1) -> None:
        ctype, params = parse_options_header(content_type)
        if ctype != b"multipart/form-data" or b"boundary" not in params:
            raise BadRequest("Content-Type must be multipart/form-data with a boundary.")
        self.storage = storage
        self.limits = limits
        self.max_files = max_files
        self.form = UploadForm()
        self.part = _PartState()
        self.error: KawaError | None = None
        self.committed: list[str] = []
        self.pending: list[tuple[StorageWriter, StoredUpload]] = []
        self.parser = MultipartParser(
            params[b"boundary"],
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    async def read(self, chunks: AsyncIterator[bytes]) -> UploadForm:
        try:
            async for chunk in chunks:
                self._write(chunk)
                if self.error is not None:
                    raise self.error
            self._finalize()
            if self.error is not None:
                raise self.error
            for writer, stored in self.pending:
                await writer.commit()
                self.committed.append(stored.storage_key)
                self.form.files.append(stored)
        except BaseException:
            await self.discard()
            raise
        return self.form

    def _write(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise BadRequest(f"The multipart body is malformed: {exc}") from None

    def _finalize(self) -> None:
        try:
            self.parser.finalize()
        except MultipartParseError as exc:
            raise BadRequest(f"The multipart body is malformed: {exc}") from None
        if self.parser.state != MultipartState.END:
            raise BadRequest("The multipart body is malformed: it ends before its closing boundary.")

    async def discard(self) -> None:
        """Remove everything this upload wrote (used on error, or by the caller when a later check fails)."""
        if self.part.writer is not None:
            await self.part.writer.abort()
            self.part.writer = None
        for writer, _ in self.pending:
            await writer.abort()
        self.pending.clear()
        for key in self.committed:
            await self.storage.delete(key)
        self.committed.clear()

    # -- parser callbacks (synchronous; they record an error instead of raising through the C-style parser)
    def _part_begin(self) -> None:
        self.part = _PartState()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def _header_end(self) -> None:
        self.part.headers[self.part.header_field.decode("latin-1")] = _header_text(self.part.header_value)
        self.part.header_field = b""
        self.part.header_value = b""

    def _headers_finished(self) -> None:
        part = self.part
        disposition = part.headers.get("Content-Disposition", "")
        params = disposition_params(disposition)
        part.field_name = params.get("name", "")
        if "filename" not in params:
            return
        if part.field_name != "file" or self.error is not None:
            return
        if len(self.pending) >= self.max_files:
            self.error = TooManyFiles()
            return
        part.filename = clean_filename(params["filename"])
        if not part.filename:
            self.error = FilenameMissing()
            return
        if FORBIDDEN_NAME_CHARACTERS.intersection(part.filename):
            self.error = InvalidParam("Filename contains invalid characters")
            return
        extension = part.filename.rpartition(".")[2].lower() if "." in part.filename else ""
        kind = file_kind(extension)
        if kind is None:
            self.error = UnsupportedFileTypeError(
                f"File type '.{extension}' is not allowed." if extension else "File type not allowed."
            )
            return
        part.kind = kind
        part.content_type = part.headers.get("Content-Type")
        part.limit = size_limit_bytes(kind, self.limits)
        part.key = f"upload_files/{uuid.uuid4().hex}.{extension}"
        part.writer = self.storage.writer(part.key)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if self.error is not None:
            return
        chunk = data[start:end]
        if part.writer is None:
            if part.filename is None and len(part.buffer) + len(chunk) <= MAX_FIELD_BYTES:
                part.buffer += chunk
            return
        part.size += len(chunk)
        if part.size > part.limit:
            self.error = FileTooLarge(
                f"File size exceeded. {part.size} > {part.limit} bytes: {part.kind} files may be at most "
                f"{part.limit // (1024 * 1024)} MB."
            )
            return
        part.hasher.update(chunk)
        part.writer.write(chunk)

    def _part_end(self) -> None:
        part = self.part
        if self.error is not None:
            return
        if part.writer is not None and part.filename is not None:
            extension = part.filename.rpartition(".")[2].lower()
            stored = StoredUpload(
                name=part.filename,
                extension=extension,
                mime_type=guess_mime(part.filename, part.content_type),
                size=part.size,
                sha256=part.hasher.hexdigest(),
                storage_key=part.key,
            )
            self.pending.append((part.writer, stored))
            part.writer = None
        elif part.field_name:
            self.form.fields[part.field_name] = part.buffer.decode("utf-8", "replace")


def require_file(form: UploadForm) -> StoredUpload:
    if not form.files:
        raise NoFileUploaded()
    return form.files[0]

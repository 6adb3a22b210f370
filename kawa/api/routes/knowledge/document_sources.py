"""Where a new or replaced document's content comes from: a text body, or a multipart `file` with its `data` JSON
options; and how the client described the upload (Dify's `data_source_info.upload_file`)."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from pydantic import ValidationError

from kawa.api.routes.knowledge.params import KnowledgeBody, retrieval_config
from kawa.errors import InvalidParam
from kawa.files.extract import UnsupportedFileTypeError, extract_text
from kawa.knowledge.errors import FileTooLarge, NoFileUploaded, TooManyFiles
from kawa.services import Services


class DocumentOptions(KnowledgeBody):
    name: str | None = None
    process_rule: dict[str, Any] | None = None
    doc_form: str | None = None
    doc_language: str | None = None
    indexing_technique: Literal["high_quality", "economy"] | None = None
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None

    def indexing_options(self) -> dict[str, Any]:
        """The options `KnowledgeBase.add_document` takes, after checking the retrieval model."""
        if self.retrieval_model is not None:
            retrieval_config(self.retrieval_model)
        return {
            "process_rule": self.process_rule,
            "doc_form": self.doc_form,
            "doc_language": self.doc_language,
            "indexing_technique": self.indexing_technique,
            "retrieval_model": self.retrieval_model,
            "embedding_model": self.embedding_model,
            "embedding_model_provider": self.embedding_model_provider,
        }


class TextDocument(DocumentOptions):
    text: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentSource:
    """A document's content as uploaded, with Dify's description of the upload."""

    data: bytes
    filename: str
    mime_type: str
    upload_file: dict[str, Any]


def text_source(name: str, text: str) -> DocumentSource:
    data = text.encode()
    filename = name if name.lower().endswith((".txt", ".md", ".markdown")) else name + ".txt"
    upload_file = {
        "name": filename,
        "size": len(data),
        "extension": filename.rsplit(".", 1)[-1],
        "mime_type": "text/plain",
    }
    return DocumentSource(data, filename, "text/plain", upload_file)


def _file_source(data: bytes, filename: str, mime: str) -> DocumentSource:
    upload_file = {
        "name": filename,
        "size": len(data),
        "extension": filename.rsplit(".", 1)[-1].lower() if "." in filename else "",
        "mime_type": mime,
    }
    return DocumentSource(data, filename, mime, upload_file)


async def read_file_source(request: Request, services: Services) -> tuple[DocumentSource, DocumentOptions]:
    """The multipart `file` (which kawa must be able to parse) and its `data` JSON options."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise NoFileUploaded()
    limit = services.settings.knowledge.upload_mb * 1024 * 1024
    async with request.form(max_files=2, max_fields=10) as form:
        files = form.getlist("file")
        if not files:
            raise NoFileUploaded()
        if len(files) > 1:
            raise TooManyFiles()
        upload = files[0]
        if isinstance(upload, str):
            raise NoFileUploaded()
        if not upload.filename:
            raise InvalidParam("File name is required.")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise FileTooLarge(f"File size exceeded. {len(data)} > {limit}")
        raw = form.get("data")
        try:
            options = DocumentOptions.model_validate(json.loads(raw) if isinstance(raw, str) and raw else {})
        except (ValueError, ValidationError) as exc:
            raise InvalidParam(f"data: {exc}") from None
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename)[0] or mime
        source = _file_source(data, upload.filename[:200], mime or "application/octet-stream")
    _require_parsable(source)
    return source, options


def _require_parsable(source: DocumentSource) -> None:
    try:
        extract_text(b"", filename=source.filename, mime_type=source.mime_type)
    except UnsupportedFileTypeError as exc:
        raise exc from None
    except Exception:
        pass  # an empty body of a known type may not parse; the real file is parsed in the background

"""Errors only the knowledge package and its API raise, with Dify's codes and messages.

Errors shared with other packages (rows not found, uploads) live in `kawa.errors` and are re-exported here for the
Knowledge API routes.
"""

from __future__ import annotations

from kawa.errors import (
    ChildChunkNotFound,
    DatasetNameDuplicate,
    DatasetNotFound,
    DocumentNotFound,
    FileTooLarge,
    Forbidden,
    KawaError,
    MetadataNotFound,
    NoFileUploaded,
    SegmentNotFound,
    TooManyFiles,
)

__all__ = [
    "ChildChunkNotFound",
    "DatasetApiDisabled",
    "DatasetNameDuplicate",
    "DatasetNotFound",
    "DocumentIndexing",
    "DocumentNotFound",
    "FileTooLarge",
    "MetadataNotFound",
    "MissingDataset",
    "NoFileUploaded",
    "SegmentNotFound",
    "TooManyFiles",
]


class DatasetApiDisabled(Forbidden):
    default_message = "Dataset api access is not enabled."


class DocumentIndexing(KawaError):
    code = "document_indexing"
    status = 400
    default_message = "The document is being processed and cannot be edited."


class MissingDataset(KawaError):
    """An app references a dataset that does not exist (deleted, or not created on this server)."""

    code = "dataset_not_found"
    status = 400

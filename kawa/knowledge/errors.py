"""Errors of the Knowledge API, with Dify's codes and messages."""

from __future__ import annotations

from kawa.errors import BadRequest, Forbidden, KawaError, NotFound


class DatasetNotFound(NotFound):
    default_message = "Dataset not found."


class DocumentNotFound(NotFound):
    default_message = "Document not found."


class SegmentNotFound(NotFound):
    default_message = "Segment not found."


class ChildChunkNotFound(NotFound):
    default_message = "Child chunk not found."


class MetadataNotFound(NotFound):
    default_message = "Metadata not found."


class DatasetNameDuplicate(KawaError):
    code = "dataset_name_duplicate"
    status = 409
    default_message = "The dataset name already exists. Please modify your dataset name."


class DatasetApiDisabled(Forbidden):
    default_message = "Dataset api access is not enabled."


class DocumentIndexing(KawaError):
    code = "document_indexing"
    status = 400
    default_message = "The document is being processed and cannot be edited."


class NoFileUploaded(BadRequest):
    code = "no_file_uploaded"
    default_message = "Please upload your file."


class TooManyFiles(BadRequest):
    code = "too_many_files"
    default_message = "Only one file is allowed."


class FileTooLarge(KawaError):
    code = "file_too_large"
    status = 413
    default_message = "File size exceeded."


class MissingDataset(KawaError):
    """An app references a dataset that does not exist (deleted, or not created on this server)."""

    code = "dataset_not_found"
    status = 400

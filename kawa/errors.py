"""Typed errors carrying Dify's wire `code` and HTTP status; the API layer maps them to `{code, message, status}`.

This is the bottom layer, so errors that several packages raise live here, one class per concept: the generic HTTP
kinds, DSL import, model providers, uploaded files and knowledge-base rows. Errors only one package raises live in
that package (e.g. `kawa.knowledge.errors`). `client_message` is the one sanitiser of failure text shown to clients.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar


class KawaError(Exception):
    """Base for every error that reaches a client. `code` and `status` are Dify's."""

    code: str = "unknown"
    status: int = 500
    default_message: str = "Internal Server Error, please contact support."
    # May the same call succeed if tried again (an upstream's 429/5xx, a timeout)? Model calls retry on it.
    retryable: bool = False

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.message)


class InvalidParam(KawaError):
    code = "invalid_param"
    status = 400
    default_message = "Invalid parameter."


class BadRequest(KawaError):
    code = "bad_request"
    status = 400
    default_message = "The browser (or proxy) sent a request that this server could not understand."


class Unauthorized(KawaError):
    code = "unauthorized"
    status = 401
    default_message = "Access token is invalid"


class Forbidden(KawaError):
    code = "forbidden"
    status = 403
    default_message = "Forbidden."


class NotFound(KawaError):
    code = "not_found"
    status = 404
    default_message = "Not Found."


class TooManyRequests(KawaError):
    code = "too_many_requests"
    status = 429
    default_message = "Too many requests. Please try again later."


class AppModeMismatch(KawaError):
    status = 400

    def __init__(self, code: str) -> None:
        super().__init__("Please check if your app mode matches the right API route.", code=code)


class DslError(InvalidParam):
    """A DSL file that cannot be imported. `path` points into it, e.g. `workflow.graph.nodes[3].data.type`."""

    code = "invalid_dsl"

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


# Errors of model providers, with Dify's codes (used by kawa.models and surfaced by runners).
class ProviderNotInitialized(KawaError):
    code = "provider_not_initialize"
    status = 400
    default_message = "No valid model provider credentials found."


class ProviderQuotaExceeded(KawaError):
    code = "provider_quota_exceeded"
    status = 400
    default_message = "Your quota for the model provider has been exhausted."


class ModelNotSupported(KawaError):
    code = "model_currently_not_support"
    status = 400
    default_message = "The model is not supported by the configured provider."


class CompletionRequestError(KawaError):
    code = "completion_request_error"
    status = 400
    default_message = "The model provider returned an error."


class ProviderRateLimited(KawaError):
    """The provider's rate limit (its 429): the same call may succeed later. Dify's `rate_limit_error`."""

    code = "rate_limit_error"
    status = 429
    default_message = "Rate Limit Error"
    retryable = True

    def __init__(self, message: str | None = None, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # the upstream's Retry-After, when it sent one


class ProviderUnavailable(CompletionRequestError):
    """The provider could not be reached, failed (5xx), cut its stream or did not answer in time: Dify's code
    `completion_request_error`, but 503 rather than 400, since the client's request was not at fault."""

    status = 503
    retryable = True


# Errors of uploaded files, with Dify's codes: `POST /files/upload`, knowledge documents, audio, text extraction.
class NoFileUploaded(BadRequest):
    code = "no_file_uploaded"
    default_message = "Please upload your file."


class TooManyFiles(BadRequest):
    code = "too_many_files"
    default_message = "Only one file is allowed."


class FilenameMissing(BadRequest):
    code = "filename_not_exists_error"
    default_message = "The file name is missing."


class FileTooLarge(KawaError):
    code = "file_too_large"
    status = 413
    default_message = "File size exceeded."


class FileNotFound(NotFound):
    code = "file_not_found"
    default_message = "File not found."


class TextExtractionError(KawaError):
    """A document that could not be read (corrupt, encrypted, wrong encoding)."""

    code = "text_extraction_error"
    status = 400
    default_message = "Failed to extract text from the document."


class UnsupportedFileTypeError(TextExtractionError):
    """A file kawa neither accepts as an upload nor can read; the class name is Dify's node `error_type`."""

    code = "unsupported_file_type"
    status = 415
    default_message = "Unsupported file type."


class NoAudioUploaded(KawaError):
    code = "no_audio_uploaded"
    status = 400
    default_message = "Please upload your audio."


class AudioTooLarge(KawaError):
    code = "audio_too_large"
    status = 413
    default_message = "Audio size exceeded: at most 30 MB."


class UnsupportedAudioType(KawaError):
    code = "unsupported_audio_type"
    status = 415
    default_message = "Audio type not allowed."


# Errors of knowledge-base rows, with Dify's codes: raised by the repositories in kawa.store and by kawa.knowledge.
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


# What a client may read about a failure. Every place that would copy an exception's text into a record (a run's or
# a message's `error`, a node's error) or a response passes it through `client_message` instead.
REQUEST_ID: ContextVar[str | None] = ContextVar("kawa_request_id", default=None)
"""The id of the HTTP request being served: set by the API's request-id middleware, inherited by the run and
message tasks the request spawns, so a failure inside them is logged under the id the client was given."""
TASK_ID: ContextVar[str | None] = ContextVar("kawa_task_id", default=None)
"""The `task_id` of the run or message a task works for (set by the task supervisor): log lines carry it."""

_STATEMENT = re.compile(r"\s*(\[SQL: |\[parameters: |\(Background on this error at: ).*", re.S)


def internal_error_message(reference: str) -> str:
    """The client's text for a failure whose detail only the server log holds (under `reference`)."""
    return f"Internal Server Error, please contact support. (request id: {reference})"


def client_message(
    error: BaseException, *, log: logging.Logger, context: str, shown: tuple[type[BaseException], ...] = ()
) -> str:
    """The text a client may read about `error` (also what records store: clients read them back).

    A `KawaError`, and the caller's `shown` types (errors whose text is the user's own: a code node's exception, an
    HTTP node's status), keep their message, minus any database statement a wrapped error carried along. Anything
    else — a database, network or programming error, whose text may hold SQL, parameters, host names and ports —
    is logged with its traceback under the request id (a new reference outside a request), and the client reads
    a generic message carrying that id. `context` says in the log what failed, e.g. "workflow run 1234".
    """
    if isinstance(error, (KawaError, *shown)):
        text = error.message if isinstance(error, KawaError) else str(error)
        return _STATEMENT.sub("", text) or type(error).__name__
    reference = REQUEST_ID.get() or uuid.uuid4().hex
    log.error("%s failed [request %s]", context, reference, exc_info=error)
    return internal_error_message(reference)

"""Typed errors carrying Dify's wire `code` and HTTP status; the API layer maps them to `{code, message, status}`."""

from __future__ import annotations


class KawaError(Exception):
    """Base for every error that reaches a client. `code` and `status` are Dify's."""

    code: str = "unknown"
    status: int = 500
    default_message: str = "Internal Server Error, please contact support."

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def to_body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "status": self.status}


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

"""Turning upstream failures into kawa's Dify-coded errors, with the upstream's message and no secrets.

One table decides what kind of failure an upstream answer is; each kind has Dify's code and an honest HTTP status:

| upstream                                   | error                  | code                        | status | retried |
|--------------------------------------------|------------------------|-----------------------------|--------|---------|
| 401, 403                                   | ProviderNotInitialized | provider_not_initialize     | 400    | no      |
| 402, `insufficient_quota`                  | ProviderQuotaExceeded  | provider_quota_exceeded     | 400    | no      |
| 429, Anthropic `rate_limit_error`          | ProviderRateLimited    | rate_limit_error            | 429    | yes     |
| 404 naming the model                       | ModelNotSupported      | model_currently_not_support | 400    | no      |
| other 4xx (an invalid request)             | CompletionRequestError | completion_request_error    | 400    | no      |
| 5xx, 408, 409, unreachable, timeout, cut   | ProviderUnavailable    | completion_request_error    | 503    | yes     |
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping

from kawa.errors import (
    CompletionRequestError,
    KawaError,
    ModelNotSupported,
    ProviderNotInitialized,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)

_UNAVAILABLE_STATUS = frozenset({408, 409, 500, 502, 503, 504, 529})
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (and any 8+ character tail of it) replaced by `***`."""
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        text = text.replace(secret, "***")
        if len(secret) >= 12:
            # Upstreams often echo a key partly ("sk-abc...wxyz"); drop recognisable fragments too.
            text = text.replace(secret[:8], "***").replace(secret[-8:], "***")
    return text


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, KawaError) and error.retryable


def mark_retryable(error: KawaError, retryable: bool) -> KawaError:
    error.retryable = retryable
    return error


def retry_after_of(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the upstream asks to wait (`retry-after-ms`, `retry-after` in seconds or as an HTTP date), if any."""
    if not headers:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        if value.strip().replace(".", "", 1).isdigit():
            return max(0.0, float(value))
        when = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_for_status(
    status: int | None,
    message: str,
    *,
    provider: str,
    code: str | None = None,
    secrets: Iterable[str | None] = (),
    retry_after_s: float | None = None,
) -> KawaError:
    """The kawa error for an upstream HTTP status (None: the connection failed, was cut or timed out)."""
    text = f"[{provider}] {redact(message.strip() or f'HTTP {status}', secrets)}"
    if status in (401, 403):
        return ProviderNotInitialized(text)
    if status == 402 or code in _QUOTA_CODES:
        return ProviderQuotaExceeded(text)
    if status == 429 or code in ("rate_limit_exceeded", "rate_limit_error"):
        return ProviderRateLimited(text, retry_after_s=retry_after_s)
    if status == 404 and (code == "model_not_found" or "model" in text.lower()):
        return ModelNotSupported(text)
    if status is None or status in _UNAVAILABLE_STATUS or status >= 500 or code == "overloaded_error":
        return ProviderUnavailable(text)
    return CompletionRequestError(text)

"""Turning upstream failures into kawa's Dify-coded errors, with the upstream's message and no secrets."""

from __future__ import annotations

from collections.abc import Iterable

from kawa.errors import (
    CompletionRequestError,
    KawaError,
    ModelNotSupported,
    ProviderNotInitialized,
    ProviderQuotaExceeded,
)

_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


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


def error_for_status(
    status: int | None,
    message: str,
    *,
    provider: str,
    code: str | None = None,
    secrets: Iterable[str | None] = (),
) -> KawaError:
    """The kawa error for an upstream HTTP status (None: the connection failed or timed out)."""
    text = redact(message.strip() or f"HTTP {status}", secrets)
    text = f"[{provider}] {text}"
    error: KawaError
    if status in (401, 403):
        error = ProviderNotInitialized(text)
    elif status == 429 or code in ("insufficient_quota", "rate_limit_exceeded"):
        error = ProviderQuotaExceeded(text)
        return mark_retryable(error, code != "insufficient_quota")
    elif status == 404 and (code == "model_not_found" or "model" in text.lower()):
        error = ModelNotSupported(text)
    else:
        error = CompletionRequestError(text)
    return mark_retryable(error, status is None or status in _RETRYABLE_STATUS)

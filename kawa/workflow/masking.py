"""`SecretMasker`: replaces secret environment values inside event payloads with Dify's obfuscated form."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

E = TypeVar("E")

_MASKED_FIELDS = ("inputs", "outputs", "process_data", "error", "text", "pre_output", "execution_metadata", "data")


def obfuscate(secret: str) -> str:
    """Dify's `obfuscated_token`: the first 6 and last 2 characters around 12 stars; short values are all stars."""
    if len(secret) <= 8:
        return "*" * 20
    return secret[:6] + "*" * 12 + secret[-2:]


class SecretMasker:
    __slots__ = ("_pairs",)

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        unique = sorted({s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True)
        self._pairs = [(s, obfuscate(s)) for s in unique]

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def mask_event(self, event: E) -> E:
        changes: dict[str, Any] = {}
        for name in _MASKED_FIELDS:
            if hasattr(event, name):
                value = getattr(event, name)
                masked = self.mask(value)
                if masked is not value:
                    changes[name] = masked
        # Every EngineEvent is a dataclass, but mypy cannot see it through the union alias.
        return dataclasses.replace(event, **changes) if changes else event  # type: ignore[type-var]  # see above

    def mask(self, value: Any) -> Any:
        """`value` with every secret replaced; the same object when nothing changed."""
        if isinstance(value, str):
            masked = value
            for secret, shown in self._pairs:
                if secret in masked:
                    masked = masked.replace(secret, shown)
            return masked if masked != value else value
        if isinstance(value, Mapping):
            items = {k: self.mask(v) for k, v in value.items()}
            return items if any(items[k] is not v for k, v in value.items()) else value
        if isinstance(value, list | tuple):
            masked_items = [self.mask(v) for v in value]
            return masked_items if any(m is not v for m, v in zip(masked_items, value, strict=True)) else value
        return value

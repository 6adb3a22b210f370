"""Retrieval quality on a generated English + Japanese corpus (240 chunks) with the embedded e5 model: recall@5 of
vector, keyword (BM25) and hybrid search (and recall@1, which must also tell an entity's two chunks apart), for
questions that name the entity and for harder ones that do not.
The figures are printed (`pytest -s`) and held above floors."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from corpus import build_corpus, index_corpus, recall_at

from kawa.knowledge.settings import KnowledgeSettings
from kawa.services import Services, open_services
from kawa.settings import Settings

# Floors (recall@5, recall@1) a little under the measured figures (see bench/knowledge.py's docstring).
FLOORS = {
    ("semantic_search", True): (0.95, 0.9),
    ("keyword_search", True): (0.95, 0.5),
    ("hybrid_search", True): (0.95, 0.9),
    ("semantic_search", False): (0.95, 0.7),
    ("keyword_search", False): (0.95, 0.9),
    ("hybrid_search", False): (0.95, 0.85),
}


@pytest.fixture(scope="module", params=["exact", "hnsw"])
async def services(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[Services]:
    """Exact search, and the HNSW graph (forced from the first chunk) that large datasets use: same floors."""
    os.environ.pop("KAWA_DATABASE_URL", None)
    knowledge = KnowledgeSettings(ann_min_chunks=0 if request.param == "hnsw" else 20_000)
    settings = Settings(home=tmp_path_factory.mktemp("recall"), knowledge=knowledge)  # type: ignore[call-arg]
    async with open_services(settings) as opened:
        yield opened


async def test_recall_at_5_on_english_and_japanese(services: Services) -> None:
    corpus = build_corpus()
    assert corpus.chunk_count >= 200
    dataset_id = await index_corpus(services.knowledge, "recall", corpus)
    figures: dict[str, tuple[float, float]] = {}
    failures = []
    for (method, named), (floor5, floor1) in FLOORS.items():
        for language in ("en", "ja"):
            questions = [q for q in corpus.questions if q.language == language and q.named == named]
            at1, at5 = await recall_at(services.knowledge, dataset_id, questions, method)
            label = f"{method} {language} {'named' if named else 'nameless'}"
            figures[label] = (at5, at1)
            if at5 < floor5 or at1 < floor1:
                failures.append(f"{label}: recall@5 {at5:.3f} (floor {floor5}), recall@1 {at1:.3f} (floor {floor1})")
    print(f"\nover {corpus.chunk_count} chunks, {len(corpus.questions)} questions:   recall@5  recall@1")
    for label, (at5, at1) in figures.items():
        print(f"  {label:<40} {at5:.3f}     {at1:.3f}")
    assert not failures, failures

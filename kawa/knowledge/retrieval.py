"""Retrieval over one or more datasets: vector, BM25 keyword or hybrid search, optional rerank model, metadata
filters, score threshold and top_k; hits come back as `RetrievedSegment`s numbered from 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kawa.knowledge.index import DatasetIndex, IndexCache
from kawa.knowledge.indexing import Embedder
from kawa.knowledge.keyword import normalise
from kawa.knowledge.metadata_filter import MetadataConditions
from kawa.knowledge.types import ChildHit, RetrievalConfig, RetrievedSegment
from kawa.models.registry import ModelRuntime
from kawa.store.datasets import DatasetStore
from kawa.store.documents import DocumentStore
from kawa.store.knowledge_tables import Dataset, DatasetDocument

KEYWORD_METHODS = frozenset({"full_text_search", "keyword_search"})
# Candidates taken from each search before fusing/reranking, as a multiple of top_k.
CANDIDATE_FACTOR = 4
MIN_CANDIDATES = 20


@dataclass
class _Hit:
    dataset: Dataset
    segment_id: str
    document_id: str
    score: float
    children: list[tuple[str, float]]


def builtin_metadata(document: DatasetDocument) -> dict[str, Any]:
    """A document's metadata as filters see it: custom fields plus Dify's built-in fields."""
    return {
        **(document.doc_metadata or {}),
        "document_name": document.name,
        "uploader": "api",
        "upload_date": document.created_at,
        "last_update_date": document.updated_at,
        "source": "file_upload" if document.data_source_type == "upload_file" else document.data_source_type,
    }


class Retriever:
    def __init__(
        self,
        datasets: DatasetStore,
        documents: DocumentStore,
        indexes: IndexCache,
        embedder: Embedder,
        models: ModelRuntime,
    ) -> None:
        self.datasets = datasets
        self.documents = documents
        self.indexes = indexes
        self.embedder = embedder
        self.models = models

    async def retrieve(
        self, datasets: list[Dataset], query: str, config: RetrievalConfig | None, *, count_hits: bool = True
    ) -> list[RetrievedSegment]:
        """`datasets` as just read (their `index_revision` decides whether a search index reloads)."""
        hits: list[_Hit] = []
        vectors: dict[tuple[str | None, str | None], list[float]] = {}  # one query embedding per model
        for dataset in datasets:
            chosen = config or RetrievalConfig.model_validate(dataset.retrieval_model or {})
            hits.extend(await self._search(dataset, query, chosen, vectors))
        config = config or (
            RetrievalConfig.model_validate(datasets[0].retrieval_model or {}) if datasets else RetrievalConfig()
        )
        if not hits:
            return []
        hits.sort(key=lambda h: h.score, reverse=True)
        if config.uses_rerank_model and query.strip():
            hits = await self._rerank(hits[: max(config.top_k * CANDIDATE_FACTOR, MIN_CANDIDATES)], query, config)
        threshold = config.threshold
        if threshold is not None:
            hits = [h for h in hits if h.score >= threshold]
        hits = hits[: config.top_k]
        results = await self._materialise(hits)
        if count_hits and results:
            await self.documents.count_hits([r.segment_id for r in results])
        return results

    async def _search(
        self,
        dataset: Dataset,
        query: str,
        config: RetrievalConfig,
        vectors: dict[tuple[str | None, str | None], list[float]],
    ) -> list[_Hit]:
        index = await self.indexes.get(dataset)
        if len(index) == 0 or not query.strip():
            return []
        allowed = await self._allowed_rows(dataset, index, config.metadata_filtering_conditions)
        if allowed is not None and not allowed.any():
            return []
        method = config.search_method
        if dataset.indexing_technique == "economy" or index.dim == 0:
            method = "keyword_search"
        candidates = max(config.top_k * CANDIDATE_FACTOR, MIN_CANDIDATES)
        vector = None
        if method not in KEYWORD_METHODS:
            model = (dataset.embedding_model_provider, dataset.embedding_model)
            if model not in vectors:
                vectors[model] = await self.embedder.query(dataset, query)
            vector = vectors[model]
        weight = config.vector_weight() if method not in KEYWORD_METHODS | {"semantic_search"} else 1.0
        return _group(dataset, index, rank_rows(index, vector, query, weight, candidates, allowed))

    async def _allowed_rows(
        self, dataset: Dataset, index: DatasetIndex, conditions: MetadataConditions | None
    ) -> npt.NDArray[np.bool_] | None:
        if conditions is None or not conditions.conditions:
            return None
        documents = await self.documents.all_of(dataset.id)
        return index.mask_for({d.id for d in documents if conditions.matches(builtin_metadata(d))})

    async def _rerank(self, hits: list[_Hit], query: str, config: RetrievalConfig) -> list[_Hit]:
        segments = await self.documents.segments_by_id([h.segment_id for h in hits])
        texts = [segments[h.segment_id].content if h.segment_id in segments else "" for h in hits]
        model = config.reranking_model
        ranked = await self.models.rerank(
            query,
            texts,
            provider_id=model.reranking_provider_name if model else None,
            model=model.reranking_model_name if model else None,
        )
        out = []
        for hit in ranked:
            original = hits[hit.index]
            original.score = float(hit.score)
            out.append(original)
        return out

    async def _materialise(self, hits: list[_Hit]) -> list[RetrievedSegment]:
        segments = await self.documents.segments_by_id([h.segment_id for h in hits])
        documents = await self.documents.documents_by_id(list({h.document_id for h in hits}))
        child_rows = await self.documents.children([h.segment_id for h in hits if h.children])
        results: list[RetrievedSegment] = []
        for hit in hits:
            segment, document = segments.get(hit.segment_id), documents.get(hit.document_id)
            if segment is None or document is None:
                continue  # deleted between search and now
            by_id = {c.id: c for c in child_rows.get(hit.segment_id, [])}
            children = [
                ChildHit(cid, by_id[cid].content, by_id[cid].position, score)
                for cid, score in hit.children
                if cid in by_id
            ]
            results.append(
                RetrievedSegment(
                    dataset_id=hit.dataset.id,
                    dataset_name=hit.dataset.name,
                    document_id=document.id,
                    document_name=document.name,
                    data_source_type=document.data_source_type,
                    segment_id=segment.id,
                    segment_position=segment.position,
                    score=hit.score,
                    content=segment.content,
                    answer=segment.answer,
                    word_count=segment.word_count,
                    tokens=segment.tokens,
                    hit_count=segment.hit_count + 1,
                    index_node_id=segment.index_node_id,
                    index_node_hash=segment.index_node_hash,
                    keywords=list(segment.keywords or []),
                    doc_metadata=dict(document.doc_metadata or {}),
                    child_chunks=children,
                    position=len(results) + 1,
                )
            )
        return results


def rank_rows(
    index: DatasetIndex,
    vector: list[float] | None,
    query: str,
    vector_weight: float,
    candidates: int,
    allowed: npt.NDArray[np.bool_] | None,
) -> list[tuple[int, float]]:
    """The best `candidates` rows of one dataset index with their scores: vector search alone (`query` unused) when
    `vector_weight` is 1, BM25 alone when `vector` is None, else both fused (Dify's weighted hybrid)."""
    raw = index.keywords.scores(query) if vector is None or vector_weight < 1.0 else None
    if vector is None:
        assert raw is not None
        valid = raw > 0 if allowed is None else (raw > 0) & allowed
        ranked = _top(np.where(valid, raw, -1.0), candidates)
        scores = normalise(raw)
        return [(int(i), float(scores[i])) for i in ranked if valid[i]]
    hits = index.vector_hits(vector, candidates, allowed)
    cosines = np.clip(hits.scores, 0.0, 1.0)
    if raw is None:
        return [(int(r), float(c)) for r, c in zip(hits.rows, cosines, strict=True)]
    # Candidates come from both searches. Each score is min-max scaled over the candidates before the weights apply:
    # raw cosines of e5 sit in a narrow band, so unscaled they would let BM25 decide alone. A keyword candidate the
    # vector search did not return scores as the weakest vector hit (its cosine is at most that).
    floor = float(cosines.min()) if cosines.size else 0.0
    cosine = np.full(len(index), floor, dtype=np.float32)
    cosine[hits.rows] = cosines
    from_vector = np.zeros(len(index), dtype=bool)
    from_vector[hits.rows] = True
    pool = from_vector.copy()
    pool[_top(np.where(raw > 0, raw, -1.0), candidates)] = True
    pool &= from_vector | (raw > 0)
    if allowed is not None:
        pool &= allowed
    vector_part = _minmax(cosine, pool & from_vector, fallback=cosine)
    keyword_part = _minmax(raw, pool, fallback=(raw > 0).astype(np.float32))
    fused = (vector_weight * vector_part + (1 - vector_weight) * keyword_part).astype(np.float32)
    ranked = _top(np.where(pool, fused, -1.0), candidates)
    return [(int(i), float(fused[i])) for i in ranked if pool[i]]


def _top(scores: npt.NDArray[Any], k: int) -> npt.NDArray[np.intp]:
    if scores.size <= k:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _minmax(
    values: npt.NDArray[np.float32], pool: npt.NDArray[np.bool_], fallback: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """`values` scaled to [0, 1] over the pool; `fallback` when the pool has no spread (one candidate)."""
    if not pool.any():
        return fallback
    low, high = float(values[pool].min()), float(values[pool].max())
    if high - low < 1e-6:
        return fallback
    scaled: npt.NDArray[np.float32] = np.clip((values - low) / (high - low), 0.0, 1.0).astype(np.float32)
    return scaled


def _group(dataset: Dataset, index: DatasetIndex, ranked: list[tuple[int, float]]) -> list[_Hit]:
    """One hit per segment: child chunks (parent-child) collapse into their parent with the best child's score."""
    by_segment: dict[str, _Hit] = {}
    order: list[_Hit] = []
    for row, score in ranked:
        chunk = index.chunks[row]
        hit = by_segment.get(chunk.segment_id)
        if hit is None:
            hit = _Hit(dataset, chunk.segment_id, chunk.document_id, score, [])
            by_segment[chunk.segment_id] = hit
            order.append(hit)
        if chunk.child_id is not None:
            hit.children.append((chunk.child_id, score))
    return order

"""Typed values of retrieval: `RetrievalConfig` (Dify's `retrieval_model`, field for field) and `RetrievedSegment`
(one hit, convertible to a `retriever_resources` entry or a knowledge-retrieval node `result` item)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.knowledge.metadata_filter import MetadataConditions

SearchMethod = Literal["semantic_search", "full_text_search", "keyword_search", "hybrid_search"]


class RerankingModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reranking_provider_name: str | None = ""
    reranking_model_name: str | None = ""


class VectorSetting(BaseModel):
    model_config = ConfigDict(extra="ignore")

    vector_weight: float = 0.7
    embedding_provider_name: str | None = ""
    embedding_model_name: str | None = ""


class KeywordSetting(BaseModel):
    model_config = ConfigDict(extra="ignore")

    keyword_weight: float = 0.3


class Weights(BaseModel):
    model_config = ConfigDict(extra="ignore")

    weight_type: str | None = "customized"
    vector_setting: VectorSetting = Field(default_factory=VectorSetting)
    keyword_setting: KeywordSetting = Field(default_factory=KeywordSetting)


class RetrievalConfig(BaseModel):
    """How to search: Dify's `retrieval_model` object (datasets, hit testing) with its defaults.

    - `search_method`: semantic_search (vectors), full_text_search / keyword_search (BM25), hybrid_search (both).
    - hybrid scores are `vector_weight * cosine' + keyword_weight * bm25'`, both min-max scaled over the candidates
      of the two searches (raw e5 cosines sit in a narrow band), unless `reranking_enable` with
      `reranking_mode="reranking_model"`, which re-scores the candidates with the rerank model.
    - keyword scores are BM25 divided by the query's best BM25 score.
    - `score_threshold` applies only when `score_threshold_enabled`; `top_k` caps the result.
    """

    model_config = ConfigDict(extra="ignore")

    search_method: SearchMethod = "semantic_search"
    reranking_enable: bool = False
    reranking_mode: Literal["reranking_model", "weighted_score"] | None = None
    reranking_model: RerankingModel | None = None
    weights: Weights | None = None
    top_k: int = Field(default=4, ge=1, le=100)
    score_threshold_enabled: bool = False
    score_threshold: float | None = None
    metadata_filtering_conditions: MetadataConditions | None = None

    @property
    def threshold(self) -> float | None:
        return self.score_threshold if self.score_threshold_enabled and self.score_threshold is not None else None

    @property
    def uses_rerank_model(self) -> bool:
        model = self.reranking_model
        return bool(
            self.reranking_enable
            and self.reranking_mode != "weighted_score"
            and model is not None
            and model.reranking_model_name
        )

    def vector_weight(self) -> float:
        weights = self.weights or Weights()
        total = weights.vector_setting.vector_weight + weights.keyword_setting.keyword_weight
        return weights.vector_setting.vector_weight / total if total > 0 else 0.7

    def wire(self) -> dict[str, Any]:
        """As Dify shows it (`retrieval_model_dict`)."""
        data = self.model_dump(mode="json", exclude={"metadata_filtering_conditions"})
        data["reranking_model"] = data["reranking_model"] or {"reranking_provider_name": "", "reranking_model_name": ""}
        return data

    @classmethod
    def from_dataset_configs(cls, configs: dict[str, Any] | None) -> RetrievalConfig:
        """From a chat app's `model_config.dataset_configs` (or a knowledge node's `multiple_retrieval_config`)."""
        configs = configs or {}
        reranking_mode = configs.get("reranking_mode") or "reranking_model"
        weights = configs.get("weights")
        method: SearchMethod = "hybrid_search"
        if reranking_mode == "weighted_score" and isinstance(weights, dict):
            vector = float((weights.get("vector_setting") or {}).get("vector_weight", 0.7) or 0)
            keyword = float((weights.get("keyword_setting") or {}).get("keyword_weight", 0.3) or 0)
            method = "semantic_search" if keyword == 0 else "full_text_search" if vector == 0 else "hybrid_search"
        return cls(
            search_method=method,
            reranking_enable=bool(configs.get("reranking_enable", reranking_mode == "reranking_model")),
            reranking_mode="weighted_score" if reranking_mode == "weighted_score" else "reranking_model",
            reranking_model=configs.get("reranking_model") or None,
            weights=weights or None,
            top_k=int(configs.get("top_k") or 4),
            score_threshold_enabled=bool(
                configs.get("score_threshold_enabled", configs.get("score_threshold") is not None)
            ),
            score_threshold=configs.get("score_threshold"),
        )


def own_config(
    retrieval_model: dict[str, Any] | None, conditions: MetadataConditions | None = None, *, top_k: int | None = None
) -> RetrievalConfig:
    """A dataset's own retrieval settings (its `retrieval_model`), with a metadata filter and top_k applied."""
    config = RetrievalConfig.model_validate(retrieval_model or {})
    config.metadata_filtering_conditions = conditions
    if top_k is not None:
        config.top_k = top_k
    return config


@dataclass(frozen=True)
class ChildHit:
    id: str
    content: str
    position: int
    score: float


@dataclass
class RetrievedSegment:
    """One retrieved chunk with what citations need. In parent-child datasets `content` is the parent's and
    `child_chunks` are the children that matched."""

    dataset_id: str
    dataset_name: str
    document_id: str
    document_name: str
    data_source_type: str
    segment_id: str
    segment_position: int
    score: float
    content: str
    answer: str | None = None
    word_count: int = 0
    tokens: int = 0
    hit_count: int = 0
    index_node_id: str = ""
    index_node_hash: str = ""
    keywords: list[str] = field(default_factory=list)
    doc_metadata: dict[str, Any] = field(default_factory=dict)
    child_chunks: list[ChildHit] = field(default_factory=list)
    position: int = 0

    @property
    def context_text(self) -> str:
        """The text an LLM sees: QA segments as "question: … answer: …", as Dify does."""
        return f"question:{self.content} answer:{self.answer}" if self.answer else self.content

    def retriever_resource(self, retriever_from: str = "api") -> dict[str, Any]:
        """The `retriever_resources` entry of message_end, blocking answers and `/v1/messages`."""
        return {
            "position": self.position,
            "dataset_id": self.dataset_id,
            "dataset_name": self.dataset_name,
            "document_id": self.document_id,
            "document_name": self.document_name,
            "data_source_type": self.data_source_type,
            "segment_id": self.segment_id,
            "retriever_from": retriever_from,
            "score": round(self.score, 6),
            "hit_count": self.hit_count,
            "word_count": self.word_count,
            "segment_position": self.segment_position,
            "index_node_hash": self.index_node_hash,
            "content": self.context_text,
            "page": None,
            "doc_metadata": self.doc_metadata or None,
            "title": self.document_name,
        }

    def result_item(self, retriever_from: str = "workflow") -> dict[str, Any]:
        """An item of the knowledge-retrieval node's `result` (what an LLM node's context reads)."""
        return {
            "metadata": {
                "_source": "knowledge",
                "position": self.position,
                "dataset_id": self.dataset_id,
                "dataset_name": self.dataset_name,
                "document_id": self.document_id,
                "document_name": self.document_name,
                "document_data_source_type": self.data_source_type,
                "segment_id": self.segment_id,
                "retriever_from": retriever_from,
                "score": round(self.score, 6),
                "child_chunks": [
                    {"id": c.id, "content": c.content, "position": c.position, "score": round(c.score, 6)}
                    for c in self.child_chunks
                ],
                "segment_hit_count": self.hit_count,
                "segment_word_count": self.word_count,
                "segment_position": self.segment_position,
                "segment_index_node_hash": self.index_node_hash,
                "doc_metadata": self.doc_metadata or None,
            },
            "title": self.document_name,
            "content": self.context_text,
        }


def retriever_resources_from_context(items: list[Any], retriever_from: str = "workflow") -> list[dict[str, Any]]:
    """`retriever_resources` for an LLM node whose context is a knowledge-retrieval `result` (items whose metadata
    has `_source: knowledge`), numbered from 1 in context order, as Dify's message_end carries them."""
    resources: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        meta = item.get("metadata")
        if not isinstance(meta, dict) or meta.get("_source") != "knowledge":
            continue
        resources.append(
            {
                "position": len(resources) + 1,
                "dataset_id": meta.get("dataset_id"),
                "dataset_name": meta.get("dataset_name"),
                "document_id": meta.get("document_id"),
                "document_name": meta.get("document_name"),
                "data_source_type": meta.get("document_data_source_type"),
                "segment_id": meta.get("segment_id"),
                "retriever_from": meta.get("retriever_from", retriever_from),
                "score": meta.get("score"),
                "hit_count": meta.get("segment_hit_count"),
                "word_count": meta.get("segment_word_count"),
                "segment_position": meta.get("segment_position"),
                "index_node_hash": meta.get("segment_index_node_hash"),
                "content": item.get("content"),
                "page": None,
                "doc_metadata": meta.get("doc_metadata"),
                "title": item.get("title"),
            }
        )
    return resources

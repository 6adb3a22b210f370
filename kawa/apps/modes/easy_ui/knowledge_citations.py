"""Knowledge for chat, agent-chat and completion apps: the easy-UI pipeline's `CitationRetriever`, backed by the
knowledge base. It reads the app's `dataset_configs` (multiple or single retrieval, top_k, threshold, weights, rerank).

It lives in kawa.apps, not kawa.knowledge, because it adapts the knowledge base to an apps seam (apps import
knowledge, never the other way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kawa.apps.modes.easy_ui.retrieval import RetrievedSegment as CitedSegment
from kawa.knowledge.service import KnowledgeBase
from kawa.knowledge.types import RetrievalConfig


class KnowledgeCitationRetriever:
    """`await retriever(dataset_ids, query, dataset_configs)` -> cited segments, best first, numbered from 1.

    A dataset id that does not exist raises `MissingDataset` (400 `dataset_not_found`), naming it."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge

    async def __call__(self, dataset_ids: list[str], query: str, config: Mapping[str, Any]) -> list[CitedSegment]:
        if not dataset_ids or not query.strip():
            return []
        if config.get("retrieval_model") == "single":
            hits = await self.knowledge.retrieve_single(dataset_ids, query)
        else:
            hits = await self.knowledge.retrieve(dataset_ids, query, RetrievalConfig.from_dataset_configs(dict(config)))
        return [
            CitedSegment(
                position=h.position,
                dataset_id=h.dataset_id,
                dataset_name=h.dataset_name,
                document_id=h.document_id,
                document_name=h.document_name,
                segment_id=h.segment_id,
                score=round(h.score, 6),
                content=h.context_text,
            )
            for h in hits
        ]

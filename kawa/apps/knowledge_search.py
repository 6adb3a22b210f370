"""`KnowledgeBaseSearch`: the workflow's `KnowledgeSearch` seam over `kawa.knowledge.KnowledgeBase`.

It lives here, above both packages, so the workflow engine never imports the knowledge package: the
knowledge-retrieval node speaks the workflow's own request types, translated to retrieval settings here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kawa.knowledge.metadata_filter import MetadataCondition, MetadataConditions
from kawa.knowledge.service import KnowledgeBase
from kawa.knowledge.types import RetrievalConfig, RetrievedSegment, own_config
from kawa.workflow.ports import DatasetSummary, MetadataFilter, RetrievedItem


def multiple_config(raw: Mapping[str, Any] | None) -> RetrievalConfig:
    """A knowledge-retrieval node's `multiple_retrieval_config` (reranking_model as `{provider, model}`) as a
    RetrievalConfig."""
    config = dict(raw or {})
    model = config.get("reranking_model")
    if isinstance(model, dict) and ("provider" in model or "model" in model):
        config["reranking_model"] = {
            "reranking_provider_name": model.get("provider") or "",
            "reranking_model_name": model.get("model") or "",
        }
    return RetrievalConfig.from_dataset_configs(config)


def metadata_conditions(metadata_filter: MetadataFilter | None) -> MetadataConditions | None:
    if metadata_filter is None:
        return None
    return MetadataConditions(
        logical_operator=metadata_filter.logical_operator,
        conditions=[
            MetadataCondition(name=c.name, comparison_operator=c.comparison_operator, value=c.value)
            for c in metadata_filter.conditions
        ],
    )


def _items(hits: list[RetrievedSegment]) -> list[RetrievedItem]:
    items: list[RetrievedItem] = []
    for hit in hits:
        item = hit.result_item()
        items.append(RetrievedItem(content=item["content"], title=item["title"], metadata=item["metadata"]))
    return items


class KnowledgeBaseSearch:
    """Knowledge search for workflow nodes, over the server's knowledge base."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self._knowledge = knowledge

    async def missing_datasets(self, dataset_ids: Sequence[str]) -> list[str]:
        return await self._knowledge.missing_datasets(list(dataset_ids))

    async def describe_datasets(self, dataset_ids: Sequence[str]) -> list[DatasetSummary]:
        ids = list(dict.fromkeys(dataset_ids))
        found = await self._knowledge.datasets.find(ids)
        return [DatasetSummary(id=i, name=found[i].name, description=found[i].description or "") for i in ids]

    async def search(
        self,
        dataset_ids: Sequence[str],
        query: str,
        settings: Mapping[str, Any] | None,
        metadata_filter: MetadataFilter | None,
    ) -> list[RetrievedItem]:
        config = multiple_config(settings)
        config.metadata_filtering_conditions = metadata_conditions(metadata_filter)
        return _items(await self._knowledge.retrieve(list(dataset_ids), query, config))

    async def search_dataset(
        self, dataset_id: str, query: str, metadata_filter: MetadataFilter | None
    ) -> list[RetrievedItem]:
        found = await self._knowledge.datasets.find([dataset_id])
        retrieval_model = found[dataset_id].retrieval_model if dataset_id in found else None
        config = own_config(retrieval_model, metadata_conditions(metadata_filter))
        return _items(await self._knowledge.retrieve([dataset_id], query, config))

    async def search_best_dataset(
        self, dataset_ids: Sequence[str], query: str, metadata_filter: MetadataFilter | None
    ) -> list[RetrievedItem]:
        hits = await self._knowledge.retrieve_single(list(dataset_ids), query, metadata_conditions(metadata_filter))
        return _items(hits)

"""Knowledge retrieval for easy-UI apps: the `CitationRetriever` the knowledge service supplies, the segments it
returns, which datasets an app's `model_config` names, and how segments become the prompt's context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class RetrievedSegment:
    """One knowledge segment, shaped like an item of Dify's `retriever_resources`."""

    position: int
    dataset_id: str
    dataset_name: str
    document_id: str
    document_name: str
    segment_id: str
    score: float | None
    content: str


class CitationRetriever(Protocol):
    async def __call__(self, dataset_ids: list[str], query: str, config: Mapping[str, Any]) -> list[RetrievedSegment]:
        """The segments of `dataset_ids` that best match `query`, best first. `config` is the app's
        `dataset_configs` (retrieval_model, top_k, score_threshold, reranking...)."""
        ...


def dataset_ids_of(model_config: Mapping[str, Any]) -> list[str]:
    """Enabled datasets of `dataset_configs.datasets.datasets` and, in old configs, of `agent_mode.tools`."""
    ids: list[str] = []
    configs = model_config.get("dataset_configs") or {}
    listed = (configs.get("datasets") or {}).get("datasets") or [] if isinstance(configs, Mapping) else []
    agent = model_config.get("agent_mode") or {}
    if isinstance(agent, Mapping) and agent.get("enabled"):
        listed = [*listed, *(agent.get("tools") or [])]
    for item in listed:
        dataset = item.get("dataset") if isinstance(item, Mapping) and len(item) == 1 else None
        if isinstance(dataset, Mapping) and dataset.get("enabled") and dataset.get("id"):
            ids.append(str(dataset["id"]))
    return list(dict.fromkeys(ids))


def retrieval_query(mode: str, model_config: Mapping[str, Any], query: str, inputs: Mapping[str, Any]) -> str:
    """Completion apps search with the input named by `dataset_query_variable`; chat apps with the query."""
    variable = model_config.get("dataset_query_variable")
    if mode == "completion" and variable:
        value = inputs.get(str(variable))
        return "" if value is None else str(value)
    return query


def context_of(segments: Sequence[RetrievedSegment]) -> str | None:
    text = "\n".join(segment.content for segment in segments if segment.content)
    return text or None

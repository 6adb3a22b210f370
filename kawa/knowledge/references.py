"""Dataset references inside app DSL documents: knowledge-retrieval nodes' `dataset_ids` and chat apps'
`model_config.dataset_configs`. Import keeps them as they are; these helpers find them to warn about missing ones."""

from __future__ import annotations

from typing import Any


def chat_app_dataset_ids(model_config: dict[str, Any] | None) -> list[str]:
    """Enabled dataset ids of a chat/agent/completion app's `model_config.dataset_configs.datasets.datasets`."""
    configs = (model_config or {}).get("dataset_configs") or {}
    entries = ((configs.get("datasets") or {}).get("datasets")) or []
    ids = []
    for entry in entries:
        dataset = (entry or {}).get("dataset") or {}
        if dataset.get("id") and dataset.get("enabled", True):
            ids.append(str(dataset["id"]))
    return ids


def dataset_references(document: dict[str, Any]) -> list[str]:
    """Every dataset id an app document uses, in order of first appearance."""
    ids: list[str] = list(chat_app_dataset_ids(document.get("model_config")))
    graph = ((document.get("workflow") or {}).get("graph")) or {}
    for node in graph.get("nodes") or []:
        data = (node or {}).get("data") or {}
        if data.get("type") == "knowledge-retrieval":
            ids.extend(str(d) for d in data.get("dataset_ids") or [])
    return list(dict.fromkeys(ids))


def missing_dataset_warnings(document: dict[str, Any], missing: list[str]) -> list[str]:
    return [
        f"The app uses dataset {dataset_id}, which does not exist on this server: create it (or import it) "
        "and point the app at it, or its retrieval will fail at run time."
        for dataset_id in missing
    ]

"""What the console draws: an app's workflow graph from its DSL (node positions, edges) and one run's trace
(each node execution's status, times, inputs, outputs, error, tokens and cost)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class NodeExecutionRecord(Protocol):
    node_id: str
    node_type: str
    title: str
    index: int
    status: str
    iteration_id: str | None
    loop_id: str | None
    inputs: dict[str, Any] | None
    process_data: dict[str, Any] | None
    outputs: dict[str, Any] | None
    execution_metadata: dict[str, Any] | None
    error: str | None
    elapsed_time: float
    created_at: float
    finished_at: float | None


def graph_view(document: dict[str, Any]) -> dict[str, Any]:
    """Nodes with position, size, type and title; edges by node id. Empty for apps without a workflow."""
    graph = (document.get("workflow") or {}).get("graph") or {}
    nodes = []
    for node in graph.get("nodes") or []:
        data = node.get("data") or {}
        position = node.get("position") or {}
        nodes.append(
            {
                "id": str(node.get("id")),
                "type": str(data.get("type") or node.get("type") or ""),
                "title": str(data.get("title") or node.get("id")),
                "x": float(position.get("x") or 0),
                "y": float(position.get("y") or 0),
                "width": float(node.get("width") or 244),
                "height": float(node.get("height") or 54),
                "parent": node.get("parentId"),
            }
        )
    edges = [
        {"source": str(e.get("source")), "target": str(e.get("target")), "handle": e.get("sourceHandle")}
        for e in graph.get("edges") or []
    ]
    return {"nodes": nodes, "edges": edges}


def node_trace(executions: Iterable[NodeExecutionRecord]) -> list[dict[str, Any]]:
    rows = []
    for ex in executions:
        meta = ex.execution_metadata or {}
        rows.append(
            {
                "node_id": ex.node_id,
                "node_type": ex.node_type,
                "title": ex.title,
                "index": ex.index,
                "status": ex.status,
                "in_container": ex.iteration_id or ex.loop_id,
                "started_at": ex.created_at,
                "finished_at": ex.finished_at,
                "elapsed_time": ex.elapsed_time,
                "inputs": ex.inputs,
                "process_data": ex.process_data,
                "outputs": ex.outputs,
                "error": ex.error,
                "total_tokens": int(meta.get("total_tokens") or 0),
                "total_price": str(meta.get("total_price") or "0"),
                "currency": str(meta.get("currency") or "USD"),
            }
        )
    rows.sort(key=lambda r: (r["started_at"], r["index"]))
    return rows

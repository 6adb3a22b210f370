"""Engine events → Dify's stream event payloads (the `data` of `workflow_started`, `node_finished`, …).

Shared by the workflow and chatflow runners; each wraps these payloads in its own envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kawa.workflow import events as ev


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: Decimals become strings (Dify's prices are decimal strings), mappings become dicts."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _ts(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _node_base(event: ev.NodeStarted | ev.NodeFinished | ev.NodeRetry) -> dict[str, Any]:
    return {
        "id": event.id,
        "node_id": event.node_id,
        "node_type": event.node_type,
        "title": event.title,
        "index": event.index,
        "predecessor_node_id": event.predecessor_node_id,
        "created_at": _ts(event.created_at),
        "extras": {},
        "iteration_id": event.iteration_id,
        "loop_id": event.loop_id,
        "parallel_id": None,
        "parallel_start_node_id": None,
        "parent_parallel_id": None,
        "parent_parallel_start_node_id": None,
        "parallel_run_id": None,
        "agent_strategy": None,
    }


def _node_finished_data(event: ev.NodeFinished | ev.NodeRetry) -> dict[str, Any]:
    data = _node_base(event)
    data.update(
        inputs=jsonable(event.inputs),
        inputs_truncated=False,
        process_data=jsonable(event.process_data),
        process_data_truncated=False,
        outputs=jsonable(event.outputs),
        outputs_truncated=False,
        status=event.status,
        error=event.error,
        elapsed_time=event.elapsed_time,
        execution_metadata=jsonable(event.execution_metadata),
        finished_at=_ts(event.finished_at),
        files=[],
    )
    return data


def _container_data(event: ev.ContainerStarted | ev.ContainerNext | ev.ContainerCompleted) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": event.id,
        "node_id": event.node_id,
        "node_type": event.node_type,
        "title": event.title,
        "created_at": _ts(event.created_at),
        "extras": {},
    }
    if isinstance(event, ev.ContainerStarted):
        data.update(
            metadata=jsonable(event.metadata),
            inputs=jsonable(event.inputs),
            predecessor_node_id=event.predecessor_node_id,
        )
    elif isinstance(event, ev.ContainerNext):
        data.update(
            index=event.index,
            pre_iteration_output=jsonable(event.pre_output),
            pre_loop_output=jsonable(event.pre_output),
        )
    else:
        data.update(
            inputs=jsonable(event.inputs),
            outputs=jsonable(event.outputs),
            status=event.status,
            error=event.error,
            elapsed_time=event.elapsed_time,
            total_tokens=event.total_tokens,
            execution_metadata=jsonable(event.execution_metadata),
            finished_at=_ts(event.finished_at),
            steps=event.steps,
            metadata=jsonable(event.metadata),
            predecessor_node_id=event.predecessor_node_id,
        )
    return data


_CONTAINER_NAMES: dict[type, str] = {
    ev.IterationStarted: "iteration_started",
    ev.IterationNext: "iteration_next",
    ev.IterationCompleted: "iteration_completed",
    ev.LoopStarted: "loop_started",
    ev.LoopNext: "loop_next",
    ev.LoopCompleted: "loop_completed",
}


def node_event(event: ev.EngineEvent) -> tuple[str, dict[str, Any]] | None:
    """(event name, data) for node-level events; None for run-level ones and text chunks."""
    if isinstance(event, ev.NodeStarted):
        data = _node_base(event)
        data.update(inputs=None, inputs_truncated=False)
        return "node_started", data
    if isinstance(event, ev.NodeRetry):
        data = _node_finished_data(event)
        data["retry_index"] = event.retry_index
        return "node_retry", data
    if isinstance(event, ev.NodeFinished):
        return "node_finished", _node_finished_data(event)
    name = _CONTAINER_NAMES.get(type(event))
    if name is not None:
        return name, _container_data(event)  # type: ignore[arg-type]
    if isinstance(event, ev.NodeLog):
        return "agent_log", {
            "node_execution_id": event.node_execution_id,
            "id": event.id,
            "label": event.label,
            "parent_id": event.parent_id,
            "error": event.error,
            "status": event.status,
            "data": jsonable(event.data),
            "metadata": jsonable(event.metadata),
            "node_id": event.node_id,
        }
    return None

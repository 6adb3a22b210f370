"""Dify's event JSON, built in one place: the stream events (`workflow_started`, `node_finished`, `message`,
`message_end`, …) and the blocking bodies of workflow runs and messages.

The workflow runner, the chat runner and the app modes hand typed values (engine events, store rows, pipeline
events) to these functions and never build a payload by hand, so each event has exactly one shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from kawa.apps.modes.easy_ui.pipeline_events import AgentThought
from kawa.store.tables import WorkflowRun
from kawa.workflow import events as ev

Payload = dict[str, Any]

_BLOCKING_RUN_FIELDS = (
    "id",
    "workflow_id",
    "status",
    "outputs",
    "error",
    "elapsed_time",
    "total_tokens",
    "total_steps",
    "created_at",
    "finished_at",
)


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


# --- workflow runs: envelopes, run-level data, blocking body -------------------------------------------------------


def workflow_envelope(event: str, *, workflow_run_id: str, task_id: str, data: Payload) -> Payload:
    """A workflow app's stream event."""
    return {"event": event, "workflow_run_id": workflow_run_id, "task_id": task_id, "data": data}


def workflow_error_event(*, workflow_run_id: str, task_id: str, message: str) -> Payload:
    """The stream's `error` event when a run broke inside kawa (500 `internal_server_error`)."""
    return {
        "event": "error",
        "workflow_run_id": workflow_run_id,
        "task_id": task_id,
        "status": 500,
        "code": "internal_server_error",
        "message": message,
    }


def run_view(run: WorkflowRun) -> Payload:
    """The run fields of the blocking response, `workflow_finished` and `GET /workflows/run/:id`."""
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "status": run.status,
        "inputs": run.inputs,
        "outputs": run.outputs,
        "error": run.error,
        "elapsed_time": run.elapsed_time,
        "total_tokens": run.total_tokens,
        "total_steps": run.total_steps,
        "created_at": int(run.created_at),
        "finished_at": int(run.finished_at) if run.finished_at else None,
    }


def workflow_started_data(
    event: ev.WorkflowStarted, *, workflow_run_id: str, workflow_id: str, sequence_number: int
) -> Payload:
    return {
        "id": workflow_run_id,
        "workflow_id": workflow_id,
        "sequence_number": sequence_number,
        "inputs": jsonable(event.inputs),
        "created_at": int(event.created_at),
    }


def workflow_finished_data(run: WorkflowRun) -> Payload:
    """`workflow_finished`'s data: the run as it ended (without its inputs)."""
    data = {
        **run_view(run),
        "outputs": jsonable(run.outputs),
        "created_by": {"id": run.end_user_id, "user": None},
        "exceptions_count": run.exceptions_count,
        "files": [],
    }
    data.pop("inputs")
    return data


def workflow_blocking_body(*, task_id: str, workflow_run_id: str, finished: Payload) -> Payload:
    """A blocking workflow run's response, from its `workflow_finished` data."""
    return {
        "task_id": task_id,
        "workflow_run_id": workflow_run_id,
        "data": {k: finished[k] for k in _BLOCKING_RUN_FIELDS},
    }


def text_chunk_data(event: ev.TextChunk) -> Payload:
    return {"text": event.text, "from_variable_selector": list(event.from_variable_selector)}


# --- node-level events, shared by workflow runs and chatflow messages ---------------------------------------------


def _node_base(event: ev.NodeStarted | ev.NodeFinished | ev.NodeRetry) -> Payload:
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


def _node_finished_data(event: ev.NodeFinished | ev.NodeRetry) -> Payload:
    data = _node_base(event)
    data.update(
        inputs=jsonable(event.inputs),
        inputs_truncated=isinstance(event, ev.NodeFinished) and event.inputs_truncated,
        process_data=jsonable(event.process_data),
        process_data_truncated=isinstance(event, ev.NodeFinished) and event.process_data_truncated,
        outputs=jsonable(event.outputs),
        outputs_truncated=isinstance(event, ev.NodeFinished) and event.outputs_truncated,
        status=event.status,
        error=event.error,
        elapsed_time=event.elapsed_time,
        execution_metadata=jsonable(event.execution_metadata),
        finished_at=_ts(event.finished_at),
        files=[],
    )
    return data


def _container_data(event: ev.ContainerStarted | ev.ContainerNext | ev.ContainerCompleted) -> Payload:
    data: Payload = {
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


_CONTAINER_NAMES: dict[type[ev.ContainerStarted | ev.ContainerNext | ev.ContainerCompleted], str] = {
    ev.IterationStarted: "iteration_started",
    ev.IterationNext: "iteration_next",
    ev.IterationCompleted: "iteration_completed",
    ev.LoopStarted: "loop_started",
    ev.LoopNext: "loop_next",
    ev.LoopCompleted: "loop_completed",
}


def _agent_log_data(event: ev.NodeLog) -> Payload:
    return {
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


def node_event(event: ev.EngineEvent) -> tuple[str, Payload] | None:
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
    if isinstance(event, ev.ContainerStarted | ev.ContainerNext | ev.ContainerCompleted):
        name = _CONTAINER_NAMES.get(type(event))
        return None if name is None else (name, _container_data(event))
    if isinstance(event, ev.NodeLog):
        return "agent_log", _agent_log_data(event)
    if isinstance(event, ev.ReasoningChunk):
        return "reasoning_chunk", reasoning_chunk_data(event)
    return None


def reasoning_chunk_data(event: ev.ReasoningChunk) -> Payload:
    """`reasoning_chunk`'s `data` (a chatflow message adds its `message_id`)."""
    return {"reasoning": event.reasoning, "node_id": event.node_id, "is_final": event.is_final}


# --- messages (chat, agent-chat, completion, chatflow): envelope, stream fields, blocking body --------------------


def message_envelope(
    event: str, *, task_id: str, message_id: str, conversation_id: str | None, created_at: int, fields: Payload
) -> Payload:
    """A message's stream event: the common head, then the event's own fields."""
    message: Payload = {"event": event, "task_id": task_id, "message_id": message_id}
    if conversation_id is not None:
        message["conversation_id"] = conversation_id
    message["created_at"] = created_at
    message.update(fields)
    return message


def answer_fields(message_id: str, text: str) -> Payload:
    """A piece of the answer (`message`, or `agent_message` in agent mode)."""
    return {"id": message_id, "answer": text}


def chatflow_answer_fields(message_id: str, chunk: ev.TextChunk) -> Payload:
    """A piece of a chatflow's answer (`message`), naming the variable it streams."""
    return {"id": message_id, "answer": chunk.text, "from_variable_selector": list(chunk.from_variable_selector)}


def message_replace_fields(text: str, reason: str) -> Payload:
    return {"answer": text, "reason": reason}


def message_file_fields(file: Mapping[str, Any]) -> Payload:
    """`message_file`: a file an agent's tool produced (Dify sends its id, kind, owner side and a signed URL)."""
    return {
        "id": file.get("related_id") or file.get("id"),
        "type": file.get("type"),
        "belongs_to": "assistant",
        "url": file.get("url"),
    }


def agent_thought_fields(thought: AgentThought) -> Payload:
    """`agent_thought`'s fields, also what the message stores in `agent_thoughts`."""
    return {**asdict(thought), "message_files": list(thought.message_files), "tool_labels": dict(thought.tool_labels)}


def chatflow_workflow_fields(workflow_run_id: str, data: Payload) -> Payload:
    """A workflow event inside a chatflow message's stream (`workflow_started`, `node_finished`, …)."""
    return {"workflow_run_id": workflow_run_id, "data": data}


def message_metadata(retriever_resources: Sequence[Mapping[str, Any]], usage: Mapping[str, Any]) -> Payload:
    """`metadata` of `message_end` and of the blocking body."""
    return {
        "annotation_reply": None,
        "retriever_resources": jsonable(retriever_resources),
        "usage": jsonable(usage),
    }


def message_end_fields(message_id: str, metadata: Payload) -> Payload:
    return {"id": message_id, "metadata": metadata, "files": []}


def message_error_fields(code: str, status: int, message: str | None) -> Payload:
    return {"code": code, "status": status, "message": message}


def message_blocking_body(
    *,
    task_id: str,
    message_id: str,
    conversation_id: str | None,
    mode: str,
    answer: str,
    metadata: Payload,
    created_at: int,
) -> Payload:
    """A blocking message's response."""
    body: Payload = {"event": "message", "task_id": task_id, "id": message_id, "message_id": message_id}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    body.update(mode=mode, answer=answer, metadata=metadata, created_at=created_at)
    return body

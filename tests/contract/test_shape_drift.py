"""The shapes bite: a documented field missing, a wrong type, a null where Dify never sends one, an undocumented
event type, a 204 with a body, each is a ShapeDrift; Dify's own documented examples pass."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from contract.shape_recorder import operation_of
from kawa.api.shapes.events import ShapeDrift, check_event
from kawa.api.shapes.operations import check_response

USAGE = {
    "prompt_tokens": 12,
    "prompt_unit_price": "0.15",
    "prompt_price_unit": "0.000001",
    "prompt_price": "0.0000018",
    "completion_tokens": 4,
    "completion_unit_price": "0.60",
    "completion_price_unit": "0.000001",
    "completion_price": "0.0000024",
    "total_tokens": 16,
    "total_price": "0.0000042",
    "currency": "USD",
    "latency": 0.42,
}
CHAT: dict[str, Any] = {
    "event": "message",
    "task_id": "t",
    "id": "m",
    "message_id": "m",
    "conversation_id": "c",
    "mode": "chat",
    "answer": "Sunny.",
    "metadata": {"usage": USAGE},
    "created_at": 1764480000,
}
NODE_FINISHED: dict[str, Any] = {
    "event": "node_finished",
    "task_id": "t",
    "workflow_run_id": "r",
    "data": {
        "id": "e",
        "node_id": "greet",
        "node_type": "template-transform",
        "title": "Greet",
        "index": 2,
        "predecessor_node_id": "start",
        "inputs": {},
        "inputs_truncated": False,
        "process_data": {},
        "process_data_truncated": False,
        "outputs": {"output": "Hi"},
        "outputs_truncated": False,
        "status": "succeeded",
        "error": None,
        "elapsed_time": 0.01,
        "execution_metadata": None,
        "created_at": 1764480000,
        "finished_at": 1764480001,
        "files": [],
        "extras": {},
        "iteration_id": None,
        "loop_id": None,
    },
}


def _chat(body: dict[str, Any]) -> None:
    check_response(("POST", "/chat-messages"), 200, "application/json", json.dumps(body).encode(), blocking=True)


def test_documented_shapes_pass() -> None:
    _chat(CHAT)
    assert check_event("workflow", NODE_FINISHED) == "node_finished"
    assert check_event("chat", {**NODE_FINISHED, "message_id": "m", "conversation_id": "c", "created_at": 1}) == (
        "node_finished"
    )
    check_response(("DELETE", "/conversations/{conversation_id}"), 204, "", b"")


def test_a_missing_usage_price_is_a_drift() -> None:
    body = copy.deepcopy(CHAT)
    del body["metadata"]["usage"]["prompt_unit_price"]  # defect 1 of issue 16: chatflow usage without prices
    with pytest.raises(ShapeDrift, match="prompt_unit_price"):
        _chat(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [("prompt_tokens", "12"), ("latency", "0.42"), ("total_price", 0.0000042), ("prompt_tokens", None)],
)
def test_a_wrong_type_in_usage_is_a_drift(field: str, value: object) -> None:
    body = copy.deepcopy(CHAT)
    body["metadata"]["usage"][field] = value
    with pytest.raises(ShapeDrift, match=field):
        _chat(body)


def test_event_drifts_are_caught() -> None:
    null_process_data = copy.deepcopy(NODE_FINISHED)
    del null_process_data["data"]["process_data"]
    with pytest.raises(ShapeDrift, match="process_data"):
        check_event("workflow", null_process_data)
    no_run = {k: v for k, v in NODE_FINISHED.items() if k != "workflow_run_id"}
    with pytest.raises(ShapeDrift, match="workflow_run_id"):
        check_event("workflow", no_run)
    with pytest.raises(ShapeDrift, match="conversation_id"):
        check_event("chat", {**NODE_FINISHED, "message_id": "m", "created_at": 1})
    with pytest.raises(ShapeDrift, match="not one Dify documents"):
        check_event("workflow", {"event": "node_progress", "task_id": "t", "workflow_run_id": "r"})
    with pytest.raises(ShapeDrift, match="index"):
        check_event("workflow", {**NODE_FINISHED, "data": {**NODE_FINISHED["data"], "index": "2"}})


def test_answer_drifts_are_caught() -> None:
    with pytest.raises(ShapeDrift, match="204 with a body"):
        check_response(("DELETE", "/conversations/{conversation_id}"), 204, "application/json", b'{"result":"ok"}')
    with pytest.raises(ShapeDrift, match="status 200, Dify answers 201"):
        check_response(("POST", "/files/upload"), 200, "application/json", b"{}")
    with pytest.raises(ShapeDrift, match="event stream"):
        check_response(("POST", "/workflows/run"), 200, "application/json", b"{}")


def test_paths_resolve_to_dify_operations() -> None:
    assert operation_of("GET", "/v1/datasets/tags") == ("GET", "/datasets/tags")
    assert operation_of("GET", "/v1/datasets/abc") == ("GET", "/datasets/{dataset_id}")
    assert operation_of("POST", "/v1/datasets/abc/documents/metadata") == (
        "POST",
        "/datasets/{dataset_id}/documents/metadata",
    )
    with pytest.raises(ShapeDrift, match="not an operation"):
        operation_of("GET", "/v1/nowhere")

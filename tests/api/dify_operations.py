"""The operations of today's Dify Service API (langgenius/dify-docs `en/api-reference/openapi_service.json` at
9d8344e7, audited against Dify 1.15: 82 operations on 64 paths), as (method, path) pairs, and which of them kawa's
route table serves. Shared by tests/api/test_dify_operations.py and bench/operations_served.py."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.routing import Match

DIFY_OPERATIONS: tuple[tuple[str, str], ...] = (
    # chat, completion and workflow apps
    ("POST", "/chat-messages"),
    ("POST", "/chat-messages/{task_id}/stop"),
    ("GET", "/messages/{message_id}/suggested"),
    ("POST", "/files/upload"),
    ("GET", "/files/{file_id}/preview"),
    ("GET", "/end-users/{end_user_id}"),
    ("POST", "/messages/{message_id}/feedbacks"),
    ("GET", "/app/feedbacks"),
    ("GET", "/conversations"),
    ("GET", "/messages"),
    ("GET", "/conversations/{conversation_id}/variables"),
    ("POST", "/conversations/{conversation_id}/name"),
    ("PUT", "/conversations/{conversation_id}/variables/{variable_id}"),
    ("DELETE", "/conversations/{conversation_id}"),
    ("POST", "/audio-to-text"),
    ("POST", "/text-to-audio"),
    ("GET", "/info"),
    ("GET", "/parameters"),
    ("GET", "/meta"),
    ("GET", "/site"),
    ("POST", "/apps/annotations"),
    ("GET", "/apps/annotations"),
    ("PUT", "/apps/annotations/{annotation_id}"),
    ("DELETE", "/apps/annotations/{annotation_id}"),
    ("POST", "/apps/annotation-reply/{action}"),
    ("GET", "/apps/annotation-reply/{action}/status/{job_id}"),
    ("GET", "/workflows/run/{workflow_run_id}"),
    ("GET", "/workflows/logs"),
    ("GET", "/form/human_input/{form_token}"),
    ("POST", "/form/human_input/{form_token}"),
    ("GET", "/workflow/{workflow_run_id}/events"),
    ("POST", "/workflows/run"),
    ("POST", "/workflows/{workflow_id}/run"),
    ("POST", "/workflows/tasks/{task_id}/stop"),
    ("POST", "/completion-messages"),
    ("POST", "/completion-messages/{task_id}/stop"),
    # knowledge
    ("POST", "/datasets"),
    ("GET", "/datasets"),
    ("GET", "/datasets/{dataset_id}"),
    ("PATCH", "/datasets/{dataset_id}"),
    ("DELETE", "/datasets/{dataset_id}"),
    ("POST", "/datasets/{dataset_id}/document/create-by-text"),
    ("POST", "/datasets/{dataset_id}/document/create-by-file"),
    ("GET", "/datasets/{dataset_id}/documents"),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}"),
    ("DELETE", "/datasets/{dataset_id}/documents/{document_id}"),
    ("PATCH", "/datasets/{dataset_id}/documents/{document_id}"),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/download"),
    ("GET", "/datasets/{dataset_id}/documents/{batch}/indexing-status"),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/update-by-text"),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/update-by-file"),
    ("POST", "/datasets/{dataset_id}/documents/download-zip"),
    ("PATCH", "/datasets/{dataset_id}/documents/status/{action}"),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/segments"),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/segments"),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}"),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}"),
    ("DELETE", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}"),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks"),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks"),
    ("PATCH", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}"),
    ("DELETE", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}"),
    ("POST", "/datasets/{dataset_id}/retrieve"),
    ("POST", "/datasets/tags"),
    ("GET", "/datasets/tags"),
    ("PATCH", "/datasets/tags"),
    ("DELETE", "/datasets/tags"),
    ("POST", "/datasets/tags/binding"),
    ("POST", "/datasets/tags/unbinding"),
    ("GET", "/datasets/{dataset_id}/tags"),
    ("POST", "/datasets/{dataset_id}/metadata"),
    ("GET", "/datasets/{dataset_id}/metadata"),
    ("PATCH", "/datasets/{dataset_id}/metadata/{metadata_id}"),
    ("DELETE", "/datasets/{dataset_id}/metadata/{metadata_id}"),
    ("GET", "/datasets/{dataset_id}/metadata/built-in"),
    ("POST", "/datasets/{dataset_id}/metadata/built-in/{action}"),
    ("POST", "/datasets/{dataset_id}/documents/metadata"),
    ("GET", "/workspaces/current/models/model-types/{model_type}"),
    ("POST", "/datasets/pipeline/file-upload"),
    ("GET", "/datasets/{dataset_id}/pipeline/datasource-plugins"),
    ("POST", "/datasets/{dataset_id}/pipeline/datasource/nodes/{node_id}/run"),
    ("POST", "/datasets/{dataset_id}/pipeline/run"),
)

# The knowledge pipeline API stays out of kawa (README, "What kawa leaves out").
PIPELINE = frozenset(op for op in DIFY_OPERATIONS if "/pipeline/" in op[1])

_PARAM = re.compile(r"\{([^}]+)\}")
_SAMPLES = {"action": "enable", "model_type": "llm", "batch": "20261130060000123456", "form_token": "token"}


def _concrete(path: str) -> str:
    """The path with a plausible value for each parameter (a UUID for ids)."""
    return _PARAM.sub(lambda m: _SAMPLES.get(m.group(1), "3f2c2a8e-5b7d-4e1a-9c3b-0d6f7a8b9c10"), path)


def serves(app: FastAPI, method: str, path: str) -> bool:
    """Whether a route of `app` takes `method` at `/v1{path}` (Starlette's own matching, so routers included
    however FastAPI keeps them count, and a path taken by another route's pattern would count too)."""
    scope = {"type": "http", "method": method, "path": "/v1" + _concrete(path), "root_path": "", "app": app}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def missing_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Dify's operations kawa does not serve, in the reference's order."""
    return [(method, path) for method, path in DIFY_OPERATIONS if not serves(app, method, path)]

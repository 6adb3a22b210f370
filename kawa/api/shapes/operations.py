"""What each Dify Service API operation answers on success, as Dify documents it: the status, and a JSON body's
shape, or no body (204), or bytes (previews, audio, downloads), or an event stream (see `events`).
`check_response` validates one answer against it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from kawa.api.shapes import apps, knowledge
from kawa.api.shapes.base import Result, Shape
from kawa.api.shapes.events import ShapeDrift

Kind = Literal["json", "json_list", "empty", "bytes", "stream"]


@dataclass(frozen=True)
class Answer:
    status: int
    kind: Kind
    model: type[Shape] | None = None
    blocking: type[Shape] | None = None  # operations that stream or answer at once (`response_mode`)


def _json(model: type[Shape], status: int = 200) -> Answer:
    return Answer(status, "json", model)


def _stream(blocking: type[Shape] | None = None) -> Answer:
    return Answer(200, "stream", None, blocking)


EMPTY = Answer(204, "empty")
BYTES = Answer(200, "bytes")
RESULT = _json(Result)

ANSWERS: dict[tuple[str, str], Answer] = {
    ("POST", "/chat-messages"): _stream(apps.ChatBlocking),
    ("POST", "/chat-messages/{task_id}/stop"): RESULT,
    ("GET", "/messages/{message_id}/suggested"): _json(apps.Suggested),
    ("POST", "/files/upload"): _json(apps.Upload, 201),
    ("GET", "/files/{file_id}/preview"): BYTES,
    ("GET", "/end-users/{end_user_id}"): _json(apps.EndUser),
    ("POST", "/messages/{message_id}/feedbacks"): RESULT,
    ("GET", "/app/feedbacks"): _json(apps.Feedbacks),
    ("GET", "/conversations"): _json(apps.Conversations),
    ("GET", "/messages"): _json(apps.Messages),
    ("GET", "/conversations/{conversation_id}/variables"): _json(apps.ConversationVariables),
    ("POST", "/conversations/{conversation_id}/name"): _json(apps.Conversation),
    ("PUT", "/conversations/{conversation_id}/variables/{variable_id}"): _json(apps.ConversationVariable),
    ("DELETE", "/conversations/{conversation_id}"): EMPTY,
    ("POST", "/audio-to-text"): _json(apps.AudioText),
    ("POST", "/text-to-audio"): BYTES,
    ("GET", "/info"): _json(apps.AppInfo),
    ("GET", "/parameters"): _json(apps.Parameters),
    ("GET", "/meta"): _json(apps.Meta),
    ("GET", "/site"): _json(apps.Site),
    ("POST", "/apps/annotations"): _json(apps.Annotation, 201),
    ("GET", "/apps/annotations"): _json(apps.Annotations),
    ("PUT", "/apps/annotations/{annotation_id}"): _json(apps.Annotation),
    ("DELETE", "/apps/annotations/{annotation_id}"): EMPTY,
    ("POST", "/apps/annotation-reply/{action}"): _json(apps.AnnotationJob),
    ("GET", "/apps/annotation-reply/{action}/status/{job_id}"): _json(apps.AnnotationJobStatus),
    ("GET", "/workflows/run/{workflow_run_id}"): _json(apps.WorkflowRunDetail),
    ("GET", "/workflows/logs"): _json(apps.WorkflowLogs),
    ("GET", "/form/human_input/{form_token}"): _json(apps.HumanInputForm),
    ("POST", "/form/human_input/{form_token}"): _json(Shape),
    ("GET", "/workflow/{workflow_run_id}/events"): _stream(),
    ("POST", "/workflows/run"): _stream(apps.WorkflowBlocking),
    ("POST", "/workflows/{workflow_id}/run"): _stream(apps.WorkflowBlocking),
    ("POST", "/workflows/tasks/{task_id}/stop"): RESULT,
    ("POST", "/completion-messages"): _stream(apps.CompletionBlocking),
    ("POST", "/completion-messages/{task_id}/stop"): RESULT,
    ("GET", "/"): _json(apps.ServiceRoot),
    ("POST", "/datasets"): _json(knowledge.Dataset),
    ("GET", "/datasets"): _json(knowledge.Datasets),
    ("GET", "/datasets/{dataset_id}"): _json(knowledge.Dataset),
    ("PATCH", "/datasets/{dataset_id}"): _json(knowledge.Dataset),
    ("DELETE", "/datasets/{dataset_id}"): EMPTY,
    ("POST", "/datasets/{dataset_id}/document/create-by-text"): _json(knowledge.DocumentBatch),
    ("POST", "/datasets/{dataset_id}/document/create-by-file"): _json(knowledge.DocumentBatch),
    ("GET", "/datasets/{dataset_id}/documents"): _json(knowledge.Documents),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}"): _json(knowledge.DocumentDetail),
    ("DELETE", "/datasets/{dataset_id}/documents/{document_id}"): EMPTY,
    ("PATCH", "/datasets/{dataset_id}/documents/{document_id}"): _json(knowledge.DocumentBatch),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/download"): _json(knowledge.DownloadUrl),
    ("GET", "/datasets/{dataset_id}/documents/{batch}/indexing-status"): _json(knowledge.IndexingStatuses),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/update-by-text"): _json(knowledge.DocumentBatch),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/update-by-file"): _json(knowledge.DocumentBatch),
    ("POST", "/datasets/{dataset_id}/documents/download-zip"): BYTES,
    ("PATCH", "/datasets/{dataset_id}/documents/status/{action}"): RESULT,
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/segments"): _json(knowledge.Segments),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/segments"): _json(knowledge.SegmentPage),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}"): _json(knowledge.OneSegment),
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}"): _json(knowledge.OneSegment),
    ("DELETE", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}"): EMPTY,
    ("POST", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks"): _json(
        knowledge.OneChildChunk
    ),
    ("GET", "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks"): _json(
        knowledge.ChildChunks
    ),
    (
        "PATCH",
        "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
    ): _json(knowledge.OneChildChunk),
    (
        "DELETE",
        "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
    ): EMPTY,
    ("POST", "/datasets/{dataset_id}/retrieve"): _json(knowledge.Retrieve),
    ("POST", "/datasets/tags"): _json(knowledge.Tag),
    ("GET", "/datasets/tags"): Answer(200, "json_list", knowledge.Tag),
    ("PATCH", "/datasets/tags"): _json(knowledge.Tag),
    ("DELETE", "/datasets/tags"): EMPTY,
    ("POST", "/datasets/tags/binding"): EMPTY,
    ("POST", "/datasets/tags/unbinding"): EMPTY,
    ("GET", "/datasets/{dataset_id}/tags"): _json(knowledge.DatasetTags),
    ("POST", "/datasets/{dataset_id}/metadata"): _json(knowledge.MetadataField, 201),
    ("GET", "/datasets/{dataset_id}/metadata"): _json(knowledge.DatasetMetadata),
    ("PATCH", "/datasets/{dataset_id}/metadata/{metadata_id}"): _json(knowledge.MetadataField),
    ("DELETE", "/datasets/{dataset_id}/metadata/{metadata_id}"): EMPTY,
    ("GET", "/datasets/{dataset_id}/metadata/built-in"): _json(knowledge.BuiltInFields),
    ("POST", "/datasets/{dataset_id}/metadata/built-in/{action}"): RESULT,
    ("POST", "/datasets/{dataset_id}/documents/metadata"): RESULT,
    ("GET", "/workspaces/current/models/model-types/{model_type}"): _json(knowledge.ModelTypes),
}


def check_response(
    operation: tuple[str, str], status: int, content_type: str, body: bytes, *, blocking: bool = False
) -> None:
    """Validate one success answer of `operation` (method, Dify path template). Raises ShapeDrift."""
    answer = ANSWERS[operation]
    where = f"{operation[0]} {operation[1]}"
    if answer.kind == "stream" and not blocking:
        if status != 200 or not content_type.startswith("text/event-stream"):
            raise ShapeDrift(f"{where}: expected a 200 event stream, got {status} {content_type!r}")
        return
    expected = 200 if answer.kind == "stream" else answer.status
    if status != expected:
        raise ShapeDrift(f"{where}: status {status}, Dify answers {expected}")
    if answer.kind == "empty":
        if body:
            raise ShapeDrift(f"{where}: 204 with a body")
        return
    if answer.kind == "bytes":
        if content_type.startswith("application/json"):
            raise ShapeDrift(f"{where}: JSON where Dify sends bytes")
        return
    if not content_type.startswith("application/json"):
        raise ShapeDrift(f"{where}: content type {content_type!r}, Dify sends application/json")
    model = answer.blocking if answer.kind == "stream" else answer.model
    assert model is not None
    # a list of `model`: the class is only known here, which mypy cannot follow
    shape: Any = list[model] if answer.kind == "json_list" else model  # type: ignore[valid-type]
    adapter: TypeAdapter[Any] = TypeAdapter(shape)
    try:
        adapter.validate_json(body)
    except ValidationError as exc:
        raise ShapeDrift(f"{where}: {exc}") from None

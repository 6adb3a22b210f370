"""Dify's SSE events (`data: {json}` blocks) per app family: the envelope every event of a stream carries, and the
body of each event type. `check_event` validates one parsed event against both."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError, create_model

from kawa.api.shapes.base import JsonObject, MessageMetadata, Shape

Family = Literal["workflow", "chat", "completion"]


class WorkflowEnvelope(Shape):
    event: str
    task_id: str
    workflow_run_id: str


class ChatEnvelope(Shape):
    """Chat, agent and chatflow apps: every event names its message and conversation."""

    event: str
    task_id: str
    message_id: str
    conversation_id: str
    created_at: int


class CompletionEnvelope(Shape):
    event: str
    task_id: str
    message_id: str
    created_at: int


ENVELOPES: dict[Family, type[Shape]] = {
    "workflow": WorkflowEnvelope,
    "chat": ChatEnvelope,
    "completion": CompletionEnvelope,
}


class WorkflowStartedData(Shape):
    id: str
    workflow_id: str
    inputs: JsonObject
    created_at: int


class WorkflowFinishedData(Shape):
    id: str
    workflow_id: str
    status: str
    outputs: JsonObject | None
    error: str | None
    elapsed_time: float
    total_tokens: int
    total_steps: int
    created_at: int
    finished_at: int | None
    exceptions_count: int | None = None
    files: list[JsonObject] | None = None


class NodeStartedData(Shape):
    id: str
    node_id: str
    node_type: str
    title: str
    index: int
    predecessor_node_id: str | None
    inputs: JsonObject | None
    inputs_truncated: bool
    created_at: int
    extras: JsonObject
    iteration_id: str | None
    loop_id: str | None


class NodeFinishedData(NodeStartedData):
    process_data: JsonObject | None
    process_data_truncated: bool
    outputs: JsonObject | None
    outputs_truncated: bool
    status: str
    error: str | None
    elapsed_time: float
    execution_metadata: JsonObject | None
    finished_at: int
    files: list[JsonObject] | None


class NodeRetryData(NodeFinishedData):
    retry_index: int


class StepStartedData(Shape):
    """`iteration_started` / `loop_started`."""

    id: str
    node_id: str
    node_type: str
    title: str
    created_at: int
    inputs: JsonObject | None
    metadata: JsonObject | None
    extras: JsonObject


class StepNextData(Shape):
    """`iteration_next` / `loop_next`."""

    id: str
    node_id: str
    node_type: str
    title: str
    index: int
    created_at: int
    extras: JsonObject


class StepCompletedData(Shape):
    """`iteration_completed` / `loop_completed`."""

    id: str
    node_id: str
    node_type: str
    title: str
    outputs: JsonObject | None
    created_at: int
    extras: JsonObject
    status: str
    error: str | None
    elapsed_time: float
    total_tokens: int
    execution_metadata: JsonObject | None
    finished_at: int
    steps: int


class TextChunkData(Shape):
    text: str
    from_variable_selector: list[str] | None


class ReasoningChunkData(Shape):
    reasoning: str
    node_id: str | None
    is_final: bool


class HumanInputRequiredData(Shape):
    form_id: str
    node_id: str
    node_title: str
    form_content: str
    inputs: list[JsonObject]
    actions: list[JsonObject]
    display_in_ui: bool
    form_token: str | None
    resolved_default_values: JsonObject
    expiration_time: int


class WorkflowPausedData(Shape):
    workflow_run_id: str
    paused_nodes: list[str]
    outputs: JsonObject | None
    reasons: list[JsonObject]
    status: str
    created_at: int
    elapsed_time: float
    total_tokens: int
    total_steps: int


class HumanInputFilledData(Shape):
    node_id: str
    node_title: str
    rendered_content: str
    action_id: str
    action_text: str
    submitted_data: JsonObject


class HumanInputTimeoutData(Shape):
    node_id: str
    node_title: str
    expiration_time: int


class AgentLogData(Shape):
    node_execution_id: str
    id: str
    label: str
    parent_id: str | None
    error: str | None
    status: str
    data: JsonObject
    metadata: JsonObject | None
    node_id: str


def _with_data(name: str, data: type[Shape]) -> type[Shape]:
    """An event whose body is `{"data": <data>}`."""
    return create_model(name, __base__=Shape, __module__=__name__, data=(data, ...))


class MessageChunk(Shape):
    """`message`, `agent_message`."""

    answer: str


class MessageEnd(Shape):
    id: str
    metadata: MessageMetadata
    files: list[JsonObject] | None = None


class MessageReplace(Shape):
    answer: str
    reason: str


class MessageFile(Shape):
    id: str
    type: str
    belongs_to: str
    url: str


class AgentThought(Shape):
    id: str
    position: int
    thought: str | None
    observation: str | None
    tool: str | None
    tool_input: str | None
    message_files: list[str]


class TtsMessage(Shape):
    audio: str


class StreamError(Shape):
    status: int
    code: str
    message: str


WORKFLOW_EVENTS: dict[str, type[Shape]] = {
    "workflow_started": _with_data("WorkflowStarted", WorkflowStartedData),
    "workflow_finished": _with_data("WorkflowFinished", WorkflowFinishedData),
    "node_started": _with_data("NodeStarted", NodeStartedData),
    "node_finished": _with_data("NodeFinished", NodeFinishedData),
    "node_retry": _with_data("NodeRetry", NodeRetryData),
    "iteration_started": _with_data("IterationStarted", StepStartedData),
    "iteration_next": _with_data("IterationNext", StepNextData),
    "iteration_completed": _with_data("IterationCompleted", StepCompletedData),
    "loop_started": _with_data("LoopStarted", StepStartedData),
    "loop_next": _with_data("LoopNext", StepNextData),
    "loop_completed": _with_data("LoopCompleted", StepCompletedData),
    "text_chunk": _with_data("TextChunk", TextChunkData),
    "reasoning_chunk": _with_data("ReasoningChunk", ReasoningChunkData),
    "human_input_required": _with_data("HumanInputRequired", HumanInputRequiredData),
    "workflow_paused": _with_data("WorkflowPaused", WorkflowPausedData),
    "human_input_form_filled": _with_data("HumanInputFormFilled", HumanInputFilledData),
    "human_input_form_timeout": _with_data("HumanInputFormTimeout", HumanInputTimeoutData),
    "agent_log": _with_data("AgentLog", AgentLogData),
    "tts_message": TtsMessage,
    "tts_message_end": TtsMessage,
    "error": StreamError,
}

MESSAGE_EVENTS: dict[str, type[Shape]] = {
    "message": MessageChunk,
    "agent_message": MessageChunk,
    "message_end": MessageEnd,
    "message_replace": MessageReplace,
    "message_file": MessageFile,
    "agent_thought": AgentThought,
    "tts_message": TtsMessage,
    "tts_message_end": TtsMessage,
    "error": StreamError,
}

EVENTS: dict[Family, dict[str, type[Shape]]] = {
    "workflow": WORKFLOW_EVENTS,
    "chat": {**WORKFLOW_EVENTS, **MESSAGE_EVENTS},  # chatflows send the workflow's events too
    "completion": MESSAGE_EVENTS,
}


class ShapeDrift(AssertionError):
    """A response or event that does not have Dify's documented shape."""


def check_event(family: Family, event: dict[str, Any]) -> str:
    """Validate one parsed SSE event of a `family` stream; returns its type. Raises ShapeDrift."""
    name = event.get("event")
    if name == "ping":
        return "ping"
    bodies = EVENTS[family]
    if not isinstance(name, str) or name not in bodies:
        raise ShapeDrift(f"{family} stream: event type {name!r} is not one Dify documents")
    for model in (ENVELOPES[family], bodies[name]):
        try:
            model.model_validate(event)
        except ValidationError as exc:
            raise ShapeDrift(f"{family} event {name!r} ({model.__name__}): {exc}") from None
    return name

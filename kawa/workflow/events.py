"""Typed events the engine yields, one class per Dify stream event. Serialised once, at the edge, by the runner.

Timestamps (`created_at`, `finished_at`) are float Unix seconds; the wire wants `int(...)`. `elapsed_time` is seconds.
Dicts inside events are shared with the run, not copied: treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from kawa.models.types import Usage

if TYPE_CHECKING:
    from kawa.workflow.pause import FormRequest, RunSnapshot

NodeStatus = Literal["succeeded", "failed", "exception", "stopped", "retry"]
RunStatus = Literal["succeeded", "failed", "stopped", "partial-succeeded", "paused"]

# The error of a run, and of the nodes and containers it cancelled, when the user stopped it.
STOPPED_BY_USER: Final = "Stopped by user."


@dataclass(frozen=True, slots=True)
class WorkflowStarted:
    inputs: Mapping[str, Any]  # user inputs plus `sys.<key>` entries
    created_at: float
    reason: Literal["initial", "resumption"] = "initial"


@dataclass(frozen=True, slots=True)
class NodeStarted:
    id: str  # node execution id (uuid)
    node_id: str
    node_type: str
    title: str
    index: int  # 1-based execution order within the run
    predecessor_node_id: str | None
    created_at: float
    iteration_id: str | None = None
    iteration_index: int | None = None
    loop_id: str | None = None
    loop_index: int | None = None


@dataclass(frozen=True, slots=True)
class NodeFinished:
    id: str
    node_id: str
    node_type: str
    title: str
    index: int
    predecessor_node_id: str | None
    created_at: float
    status: NodeStatus
    inputs: Mapping[str, Any] | None
    process_data: Mapping[str, Any] | None
    outputs: Mapping[str, Any] | None
    error: str | None
    elapsed_time: float
    execution_metadata: Mapping[str, Any] | None  # total_tokens/total_price/currency, error_strategy, iteration_*…
    finished_at: float
    iteration_id: str | None = None
    iteration_index: int | None = None
    loop_id: str | None = None
    loop_index: int | None = None
    # Whether inputs / process_data / outputs were cut to the run's payload limit (kawa.workflow.truncation).
    inputs_truncated: bool = False
    process_data_truncated: bool = False
    outputs_truncated: bool = False


@dataclass(frozen=True, slots=True)
class NodeRetry:
    """A failed attempt that will be retried; shaped like node_finished with status "retry"."""

    id: str
    node_id: str
    node_type: str
    title: str
    index: int
    predecessor_node_id: str | None
    created_at: float
    inputs: Mapping[str, Any] | None
    error: str
    retry_index: int  # 1 for the first retry
    elapsed_time: float
    finished_at: float
    status: NodeStatus = "retry"
    outputs: Mapping[str, Any] | None = None
    process_data: Mapping[str, Any] | None = None
    execution_metadata: Mapping[str, Any] | None = None
    iteration_id: str | None = None
    iteration_index: int | None = None
    loop_id: str | None = None
    loop_index: int | None = None


@dataclass(frozen=True, slots=True)
class TextChunk:
    """Streamed text of a response node (End in workflows, Answer in chatflows)."""

    text: str
    from_variable_selector: Sequence[str]
    response_node_id: str = ""


@dataclass(frozen=True, slots=True)
class ContainerStarted:
    """Base shape of iteration_started / loop_started."""

    id: str  # the container's execution id
    node_id: str
    node_type: str
    title: str
    created_at: float
    inputs: Mapping[str, Any]
    metadata: Mapping[str, Any]
    predecessor_node_id: str | None = None
    # When the container itself is nested in another container:
    iteration_id: str | None = None
    iteration_index: int | None = None
    loop_id: str | None = None
    loop_index: int | None = None


@dataclass(frozen=True, slots=True)
class ContainerNext:
    id: str
    node_id: str
    node_type: str
    title: str
    index: int  # 0-based item / round
    created_at: float
    pre_output: Any = None  # output of the previous item / round


@dataclass(frozen=True, slots=True)
class ContainerCompleted:
    id: str
    node_id: str
    node_type: str
    title: str
    created_at: float
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] | None
    status: NodeStatus
    error: str | None
    elapsed_time: float
    total_tokens: int
    execution_metadata: Mapping[str, Any] | None
    finished_at: float
    steps: int
    metadata: Mapping[str, Any] | None = None
    predecessor_node_id: str | None = None
    iteration_id: str | None = None
    iteration_index: int | None = None
    loop_id: str | None = None
    loop_index: int | None = None


@dataclass(frozen=True, slots=True)
class IterationStarted(ContainerStarted):
    pass


@dataclass(frozen=True, slots=True)
class IterationNext(ContainerNext):
    pass


@dataclass(frozen=True, slots=True)
class IterationCompleted(ContainerCompleted):
    pass


@dataclass(frozen=True, slots=True)
class LoopStarted(ContainerStarted):
    pass


@dataclass(frozen=True, slots=True)
class LoopNext(ContainerNext):
    pass


@dataclass(frozen=True, slots=True)
class LoopCompleted(ContainerCompleted):
    pass


@dataclass(frozen=True, slots=True)
class ReasoningChunk:
    """A piece of an LLM node's reasoning when its `reasoning_format` is `separated` (kept out of its text);
    `is_final` (with empty `reasoning`) says the node's reasoning phase ended."""

    node_id: str
    reasoning: str
    is_final: bool = False


@dataclass(frozen=True, slots=True)
class NodeLog:
    """A free-form log a node publishes while running (the agent node's `agent_log`)."""

    node_id: str
    node_execution_id: str
    id: str
    label: str
    parent_id: str | None
    status: str
    data: Mapping[str, Any]
    error: str | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WorkflowFinished:
    status: RunStatus
    outputs: Mapping[str, Any]
    error: str | None
    elapsed_time: float
    total_tokens: int
    total_price: Decimal
    currency: str | None
    total_steps: int
    exceptions_count: int
    created_at: float
    finished_at: float
    conversation_variables: Mapping[str, Any]  # final values, name -> value, for the chat runner to persist
    llm_usage: Usage = field(default_factory=Usage)  # the sum of the run's model usage (a chatflow's `usage`)
    error_code: str | None = None  # Dify's code and HTTP status of a failure a node raised as a KawaError
    error_status: int | None = None


@dataclass(frozen=True, slots=True)
class HumanInputFormFilled:
    """A resumed Human Input node learned the submission of its form."""

    node_id: str
    node_title: str
    rendered_content: str
    action_id: str
    action_text: str
    submitted_data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HumanInputFormTimeout:
    """A resumed Human Input node learned that its form expired; it follows its timeout branch."""

    node_id: str
    node_title: str
    expiration_time: float


@dataclass(frozen=True, slots=True)
class WorkflowPaused:
    """The last event of a run that stopped at Human Input nodes (instead of `WorkflowFinished`)."""

    forms: Sequence[FormRequest]
    snapshot: RunSnapshot
    outputs: Mapping[str, Any]
    elapsed_time: float
    total_tokens: int
    total_steps: int
    created_at: float


EngineEvent = (
    WorkflowStarted
    | NodeStarted
    | NodeFinished
    | NodeRetry
    | TextChunk
    | IterationStarted
    | IterationNext
    | IterationCompleted
    | LoopStarted
    | LoopNext
    | LoopCompleted
    | NodeLog
    | ReasoningChunk
    | HumanInputFormFilled
    | HumanInputFormTimeout
    | WorkflowFinished
    | WorkflowPaused
)

"""The `Node` base class every node type builds on, its typed `NodeData`, and `NodeResult`.

How to write a node (one module per type under `kawa/workflow/nodes/`, then add it to `nodes/__init__.py`):

    class EchoData(NodeData):
        variable_selector: list[str]

    class EchoNode(Node[EchoData]):
        node_type = "echo"
        data_model = EchoData

        async def run(self, ctx: NodeContext) -> NodeResult:
            value = ctx.pool.get(self.data.variable_selector)
            return NodeResult(inputs={"value": value}, outputs={"text": value})

- `data` is parsed from the DSL node's `data` once, at compile time (`compile_graph`); a pydantic error there is a
  compile error with a path. Put structural checks that pydantic cannot express in `check()`, raising
  `NodeConfigError("field[0].name", "problem")` (the path is relative to `data`).
- `run` reads the variable pool, uses `ctx.services` (never globals) and returns outputs; raise any exception to fail
  (`NodeError` subclasses give a meaningful `error_type`). Retries, default values and fail-branch are the engine's job.
- `await` freely: the engine cancels the task at once on stop, so let `CancelledError` propagate (clean up in
  `finally`, never swallow it).
- Streaming text: call `ctx.stream_text("text", delta)` for each delta of an output variable, then return the full
  value in `outputs`. Answer/End nodes referencing `[node_id, "text"]` forward the deltas as they arrive.
- Report model usage with `NodeResult(usage=NodeUsage(total_tokens=..., total_price=Decimal(...), currency="USD"))`.
- A branching node sets `NodeResult.edge_source_handle` (if-else case id, question-classifier class id).
- Selectors in `data` are validated at compile time: every key ending in `selector` and every `{{#node.var#}}` in a
  string is checked automatically; yield other selector-valued fields from `extra_selectors()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from kawa.models.types import Usage

if TYPE_CHECKING:
    from kawa.workflow.outcome import LevelOutcome
    from kawa.workflow.pause import FormRequest
    from kawa.workflow.runtime import NodeContext, Scope
    from kawa.workflow.template import Segment


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    retry_enabled: bool = False
    max_retries: int = 0
    retry_interval: int = 0  # milliseconds


class DefaultValue(BaseModel):
    """One entry of `default_value` (used by the `default-value` error strategy)."""

    model_config = ConfigDict(extra="allow")

    key: str
    type: str = "string"
    value: Any = None


class NodeData(BaseModel):
    """Fields every node has. Subclasses add their own; unknown keys from the editor (`selected`, `desc`…) are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    title: str = ""
    desc: str | None = ""
    version: str = "1"
    error_strategy: Literal["fail-branch", "default-value", "none"] | None = None
    default_value: list[DefaultValue] = Field(default_factory=list)
    retry_config: RetryConfig = Field(default_factory=RetryConfig)


@dataclass(frozen=True, slots=True)
class NodeUsage:
    total_tokens: int = 0
    total_price: Decimal = Decimal(0)
    currency: str = "USD"
    llm: Usage | None = None  # the model calls' whole usage (token split, unit prices), when the node has it

    def as_llm_usage(self) -> Usage:
        """The usage to add to the run's sum (a chatflow message's `usage`)."""
        if self.llm is not None:
            return self.llm
        return Usage(total_tokens=self.total_tokens, total_price=self.total_price, currency=self.currency)


@dataclass(slots=True)
class NodeResult:
    """What a successful node run returns. `inputs`/`process_data` are shown in node_finished (tracing)."""

    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] | None = None
    process_data: dict[str, Any] | None = None
    edge_source_handle: str = "source"
    usage: NodeUsage | None = None
    metadata: dict[str, Any] | None = None
    # Set by a node that waits for a person (Human Input): the run pauses there; outputs and handle are unused.
    pause: FormRequest | None = None


class NodeConfigError(Exception):
    """A node's data is structurally wrong. `path` is relative to the node's `data` (e.g. `variables[1].variable`)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path = path
        self.problem = problem


DataT = TypeVar("DataT", bound=NodeData)


class Node(Generic[DataT]):
    """A configured node of a compiled graph. Instances are immutable and shared by every run of the graph."""

    node_type: ClassVar[str] = ""
    data_model: ClassVar[type[NodeData]] = NodeData
    # Containers (iteration, loop) run a child graph and emit their own start/next/completed events instead of
    # node_started/node_finished.
    is_container: ClassVar[bool] = False
    # Whether the engine emits node_started/node_finished for it: not for containers (they emit their own
    # events) nor for the invisible iteration-start / loop-start nodes, as in Dify.
    emits_node_events: ClassVar[bool] = True
    # Nodes whose output is streamed to the client by the response coordinator (answer, end).
    is_response: ClassVar[bool] = False
    # Nodes that never await I/O (pure computation on the pool) may run inside the scheduler's loop instead of
    # their own task, which is several times cheaper. Leave False for anything that awaits.
    runs_inline: ClassVar[bool] = False
    # The output shown to the user as a text chunk when no response coordinator streams the level the node runs in
    # (an answer inside an iteration or loop).
    text_output: ClassVar[str | None] = None

    __slots__ = ("data", "id")

    def __init__(self, node_id: str, data: DataT) -> None:
        self.id = node_id
        self.data = data

    @classmethod
    def parse(cls, node_id: str, raw: Mapping[str, Any]) -> Node[Any]:
        """Build the node from a DSL `data` mapping (raises pydantic.ValidationError or NodeConfigError)."""
        # data_model is the class of this node's DataT, which a ClassVar cannot say in the type system.
        node = cls(node_id, cls.data_model.model_validate(raw))  # type: ignore[arg-type]  # see the line above
        node.check()
        return node

    @property
    def title(self) -> str:
        return self.data.title

    def check(self) -> None:
        """Structural checks beyond the pydantic model; raise NodeConfigError."""

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Selector-valued fields whose key does not end in `selector`, as (path relative to data, selector)."""
        return iter(())

    def response_segments(self) -> Sequence[Segment] | None:
        """For response nodes (answer, end): the text/variable segments streamed in order."""
        return None

    def record_outcome(self, outputs: Mapping[str, Any], level: LevelOutcome) -> None:
        """What this node's completion adds to the outcome of its level (end outputs, answers, loop end)."""

    def child_scope(self, parent: Scope, index: int) -> Scope:
        """Containers only: where run number `index` of the child graph runs (an iteration item, a loop round)."""
        raise TypeError(f"a {self.node_type} node has no child graph")

    async def run(self, ctx: NodeContext) -> NodeResult:
        raise NotImplementedError

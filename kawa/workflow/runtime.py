"""What a node may use at run time: `NodeServices` (passed in by the runner), `EngineLimits`, and `NodeContext`.

Nodes never import globals. Everything outside the variable pool that a node needs (HTTP, the code sandbox,
files, models, knowledge search) arrives through `NodeServices` as the Protocols of `ports.py`, built once at
start-up (`kawa.services.build_node_services`) and shared by every run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kawa.models.types import ChatMessage
from kawa.workflow.events import RunStatus
from kawa.workflow.observer import RunObserver
from kawa.workflow.pause import HumanInputDecisions
from kawa.workflow.ports import (
    ChatModels,
    CodeRunner,
    FileReader,
    FileSaver,
    HttpClientFactory,
    KnowledgeSearch,
    ToolCatalog,
)
from kawa.workflow.truncation import PayloadLimits

if TYPE_CHECKING:
    from kawa.workflow.events import EngineEvent
    from kawa.workflow.variable_pool import VariablePool


@dataclass(frozen=True, slots=True)
class NodeServices:
    """Dependencies of nodes (the seams are in `ports.py`). Every field is optional: a node that needs a missing
    one fails with a clear error. Shared by every run, except `file_reader` and `conversation_history`, which a
    runner sets per run with `dataclasses.replace`.
    """

    code_runner: CodeRunner | None = None
    http_client_factory: HttpClientFactory | None = None
    file_reader: FileReader | None = None
    file_saver: FileSaver | None = None
    models: ChatModels | None = None
    knowledge: KnowledgeSearch | None = None
    tools: ToolCatalog | None = None  # without it, tool and agent nodes find built-in tools only
    observer: RunObserver | None = None  # metrics and traces of runs (kawa.telemetry), when the server has them
    # The chatflow conversation so far (user/assistant turns, oldest first), for nodes with memory.
    conversation_history: Sequence[ChatMessage] = ()
    # What became of the forms of paused Human Input nodes (set per run by a runner resuming a paused run).
    human_input: HumanInputDecisions | None = None


@dataclass(frozen=True, slots=True)
class EngineLimits:
    """Per-run limits. Exceeding one fails the run with a message naming the limit."""

    max_steps: int = 500
    max_wall_time_s: float = 1200.0
    max_depth: int = 5
    template_max_output_chars: int = 400_000
    # the size of node inputs / process_data / outputs streamed and stored (larger ones are cut)
    node_payload: PayloadLimits = field(default_factory=PayloadLimits)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a node runs: the top level (depth 0) or inside a container item/round (innermost ids)."""

    depth: int = 0
    iteration_id: str | None = None
    iteration_index: int | None = None
    loop_id: str | None = None
    loop_index: int | None = None


@dataclass(frozen=True, slots=True)
class SubgraphOutcome:
    """How one run of a container's child graph (one iteration item or one loop round) ended."""

    status: RunStatus
    error: str | None = None
    error_type: str | None = None
    loop_ended: bool = False  # a loop-end node was reached
    steps: int = 0
    total_tokens: int = 0  # model tokens used by the child nodes


class NodeContext:
    """Everything a running node can touch. Built by the engine for each node execution.

    - `pool`: read with `ctx.pool.get([node_id, var, ...])`; nodes return outputs instead of writing them
      (variable-assigner is the exception: it writes conversation / loop variables).
    - `services`, `limits`: see above.
    - `stream_text(variable, delta)`: stream a text delta of one of this node's outputs (e.g. llm `text`).
      Answer/End nodes that reference `[this_node, variable]` forward the deltas as they come.
    - `emit(event)`: publish an extra typed event (iteration/loop events, agent logs).
    - `run_subgraph(pool, index=...)`: containers only; runs the container's child graph once.
    """

    __slots__ = (
        "_emit",
        "_run_subgraph",
        "_stream",
        "execution_id",
        "limits",
        "node_id",
        "pool",
        "predecessor_node_id",
        "scope",
        "services",
    )

    def __init__(
        self,
        *,
        node_id: str,
        execution_id: str,
        pool: VariablePool,
        services: NodeServices,
        limits: EngineLimits,
        scope: Scope,
        predecessor_node_id: str | None,
        stream: Callable[[str, str, str], None],
        emit: Callable[[EngineEvent], None],
        run_subgraph: Callable[[VariablePool, int], Awaitable[SubgraphOutcome]] | None,
    ) -> None:
        self.node_id = node_id
        self.execution_id = execution_id
        self.pool = pool
        self.services = services
        self.limits = limits
        self.scope = scope
        self.predecessor_node_id = predecessor_node_id
        self._stream = stream
        self._emit = emit
        self._run_subgraph = run_subgraph

    def stream_text(self, variable: str, delta: str) -> None:
        if delta:
            self._stream(self.node_id, variable, delta)

    def emit(self, event: EngineEvent) -> None:
        self._emit(event)

    async def run_subgraph(self, pool: VariablePool, *, index: int) -> SubgraphOutcome:
        if self._run_subgraph is None:
            raise RuntimeError(f"node {self.node_id} has no child graph")
        return await self._run_subgraph(pool, index)

"""Helpers for workflow tests: build DSL graph dicts tersely, run them, and look at the events.

Also a few test-only node types (sleep, fail-then-succeed, stream), registered per graph through
`TEST_REGISTRY` — test input, not a patch of the engine.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.errors import NodeError
from kawa.workflow.events import EngineEvent, NodeFinished, NodeStarted, TextChunk, WorkflowFinished
from kawa.workflow.graph import Graph, compile_graph
from kawa.workflow.nodes import DEFAULT_REGISTRY
from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.runtime import EngineLimits, NodeContext, NodeServices

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# -- test-only nodes


class SleepData(NodeData):
    seconds: float = 0.0
    value: Any = None


class SleepNode(Node[SleepData]):
    """Awaits `seconds`, then outputs `{"value": value}`."""

    node_type = "test-sleep"
    data_model = SleepData

    async def run(self, ctx: NodeContext) -> NodeResult:
        await asyncio.sleep(self.data.seconds)
        return NodeResult(outputs={"value": self.data.value})


class FlakyData(NodeData):
    failures: int = 0  # attempts that fail before one succeeds
    message: str = "flaky failure"


class FlakyError(NodeError):
    pass


class FlakyNode(Node[FlakyData]):
    """Fails `failures` times per execution (retries share one execution id), then outputs the attempt count."""

    node_type = "test-flaky"
    data_model = FlakyData

    def __init__(self, node_id: str, data: FlakyData) -> None:
        super().__init__(node_id, data)
        self.attempts: dict[str, int] = {}  # execution id -> attempts so far

    async def run(self, ctx: NodeContext) -> NodeResult:
        attempt = self.attempts[ctx.execution_id] = self.attempts.get(ctx.execution_id, 0) + 1
        if attempt <= self.data.failures:
            raise FlakyError(self.data.message)
        return NodeResult(outputs={"attempts": attempt})


class StreamData(NodeData):
    deltas: list[str] = Field(default_factory=list)
    pause: float = 0.0


class StreamNode(Node[StreamData]):
    """Streams `deltas` for its `text` output, like an llm node would."""

    node_type = "test-stream"
    data_model = StreamData

    async def run(self, ctx: NodeContext) -> NodeResult:
        for delta in self.data.deltas:
            ctx.stream_text("text", delta)
            await asyncio.sleep(self.data.pause)
        return NodeResult(outputs={"text": "".join(self.data.deltas)})


# -- building graphs


def node(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "custom", "data": {"type": node_type, "title": node_id.title(), **data}}


def child(parent: str, node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    spec = node(node_id, node_type, **data)
    spec["parentId"] = parent
    return spec


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    return {
        "id": f"{source}-{handle}-{target}",
        "source": source,
        "sourceHandle": handle,
        "target": target,
        "targetHandle": "target",
        "type": "custom",
    }


def chain(*node_ids: str) -> list[dict[str, Any]]:
    return [edge(a, b) for a, b in itertools.pairwise(node_ids)]


def graph(nodes: Iterable[dict[str, Any]], edges: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": list(nodes), "edges": list(edges)}


def start(*variables: str) -> dict[str, Any]:
    return node("start", "start", variables=[{"variable": v, "label": v, "type": "text-input"} for v in variables])


def end(**outputs: Sequence[str]) -> dict[str, Any]:
    return node("end", "end", outputs=[{"variable": k, "value_selector": list(v)} for k, v in outputs.items()])


def template(node_id: str, text: str, **variables: Sequence[str]) -> dict[str, Any]:
    return node(
        node_id,
        "template-transform",
        template=text,
        variables=[{"variable": k, "value_selector": list(v)} for k, v in variables.items()],
    )


def load_fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((FIXTURES / name).read_text())
    return doc


# -- running


@dataclass
class Run:
    events: list[EngineEvent]
    services: NodeServices
    elapsed: float = 0.0

    @property
    def finished(self) -> WorkflowFinished:
        last = self.events[-1]
        assert isinstance(last, WorkflowFinished), last
        return last

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def node_finished(self, node_id: str) -> NodeFinished:
        found = [e for e in self.of(NodeFinished) if e.node_id == node_id]
        assert len(found) == 1, f"{node_id}: {found}"
        return found[0]

    def started_ids(self) -> list[str]:
        return [e.node_id for e in self.of(NodeStarted)]

    def finished_ids(self) -> list[str]:
        return [e.node_id for e in self.of(NodeFinished)]

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.of(TextChunk))

    def trace(self) -> list[tuple[str, str]]:
        """(event class, node id or text) in order: the shape of the stream."""
        shape: list[tuple[str, str]] = []
        for e in self.events:
            label = getattr(e, "node_id", None) or getattr(e, "text", None) or ""
            shape.append((type(e).__name__, label))
        return shape


def compile_test_graph(spec: dict[str, Any] | Graph) -> Graph:
    return spec if isinstance(spec, Graph) else compile_graph(spec, registry=TEST_REGISTRY)


async def run_graph(
    spec: dict[str, Any] | Graph,
    inputs: dict[str, Any] | None = None,
    *,
    system: dict[str, Any] | None = None,
    environment: dict[str, Any] | None = None,
    secrets: Iterable[str] = (),
    conversation: dict[str, Any] | None = None,
    stop: asyncio.Event | None = None,
    limits: EngineLimits | None = None,
    services: NodeServices | None = None,
) -> Run:
    services = services or NodeServices()
    engine = WorkflowEngine(compile_test_graph(spec), services=services, limits=limits or EngineLimits())
    loop = asyncio.get_running_loop()
    began = loop.time()
    events = [
        e
        async for e in engine.run(
            inputs or {}, system or {}, environment or {}, set(secrets), conversation or {}, stop or asyncio.Event()
        )
    ]
    return Run(events=events, services=services, elapsed=loop.time() - began)


class MeteredData(NodeData):
    tokens: int = 0


class MeteredNode(Node[MeteredData]):
    """Reports model usage of `tokens` tokens, like an llm node."""

    node_type = "test-metered"
    data_model = MeteredData

    async def run(self, ctx: NodeContext) -> NodeResult:
        from decimal import Decimal

        from kawa.workflow.nodes.base import NodeUsage

        usage = NodeUsage(total_tokens=self.data.tokens, total_price=Decimal("0.001") * self.data.tokens)
        return NodeResult(outputs={"text": "ok"}, usage=usage)


TEST_REGISTRY = DEFAULT_REGISTRY.with_nodes(SleepNode, FlakyNode, StreamNode, MeteredNode)

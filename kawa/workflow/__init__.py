"""The workflow graph engine: compile a DSL graph once, then run it as a stream of typed events.

graph = compile_graph(dsl["workflow"]["graph"])
engine = WorkflowEngine(graph, services=NodeServices(...), limits=EngineLimits())
async for event in engine.run(inputs, system, environment, secret_env_names, conversation, stop):
    ...
"""

from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.errors import GraphCompileError, NodeError
from kawa.workflow.events import (
    EngineEvent,
    IterationCompleted,
    IterationNext,
    IterationStarted,
    LoopCompleted,
    LoopNext,
    LoopStarted,
    NodeFinished,
    NodeLog,
    NodeRetry,
    NodeStarted,
    TextChunk,
    WorkflowFinished,
    WorkflowStarted,
)
from kawa.workflow.graph import Graph, compile_graph
from kawa.workflow.nodes import DEFAULT_REGISTRY, KNOWN_NODE_TYPES, NodeRegistry
from kawa.workflow.runtime import EngineLimits, NodeContext, NodeServices
from kawa.workflow.variable_pool import VariablePool

__all__ = [
    "DEFAULT_REGISTRY",
    "KNOWN_NODE_TYPES",
    "EngineEvent",
    "EngineLimits",
    "Graph",
    "GraphCompileError",
    "IterationCompleted",
    "IterationNext",
    "IterationStarted",
    "LoopCompleted",
    "LoopNext",
    "LoopStarted",
    "NodeContext",
    "NodeError",
    "NodeFinished",
    "NodeLog",
    "NodeRegistry",
    "NodeRetry",
    "NodeServices",
    "NodeStarted",
    "TextChunk",
    "VariablePool",
    "WorkflowEngine",
    "WorkflowFinished",
    "WorkflowStarted",
    "compile_graph",
]

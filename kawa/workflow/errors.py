"""Typed errors of the workflow package: graph compile errors (client-facing) and node failures (run-facing)."""

from __future__ import annotations

from kawa.errors import DslError

GRAPH_PATH = "workflow.graph"


class GraphCompileError(DslError):
    """A graph that cannot run. `path` points into the DSL document, e.g. `workflow.graph.nodes[3].data.type`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)


class NodeError(Exception):
    """A node failed. The message becomes the node's `error` (and the run's, when no error strategy handles it).

    Nodes may raise any exception; this class exists so that node code can say "this is an expected failure"
    and so that `error_type` in fail-branch outputs names something meaningful (the subclass name).
    """


class RunLimitExceeded(Exception):
    """A run went past one of `EngineLimits`; the run fails with this message."""

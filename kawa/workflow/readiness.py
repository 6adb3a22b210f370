"""Which nodes of a level run next once a node finished: the scheduler's edge bookkeeping, apart from its loop.

A node is ready once all its incoming edges are resolved and one of them was taken; a node whose incoming edges
were all skipped is skipped, and so on downstream. `follow_edges` does no I/O and emits nothing: it advances the
`EdgeState` it is given and says what became ready or skipped, so it has plain unit tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kawa.workflow.graph import Edge


@dataclass(slots=True)
class EdgeState:
    """Edge resolution of one level run."""

    # Incoming edges of each node not resolved yet.
    remaining: dict[str, int]
    # For each node reached by a taken edge: the source of the first such edge.
    predecessor: dict[str, str] = field(default_factory=dict)
    # Ids of the edges taken so far.
    taken: set[str] = field(default_factory=set)

    @classmethod
    def initial(cls, in_edges: Mapping[str, Sequence[Edge]]) -> EdgeState:
        return cls({node_id: len(edges) for node_id, edges in in_edges.items()})


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: list[str]  # in the order to launch them
    skipped: list[str]  # every way in was skipped, in the order found
    took_edge: bool  # at least one edge was taken


def follow_edges(out_edges: Mapping[str, Sequence[Edge]], state: EdgeState, node_id: str, handle: str) -> Readiness:
    """Resolve the outgoing edges of `node_id`, which finished through `handle` (`source`, a branch id or
    `fail-branch`): its edges with that source handle are taken, the others skipped."""
    ready: list[str] = []
    skipped: list[str] = []
    took_edge = False
    remaining, predecessor = state.remaining, state.predecessor
    work = [(edge, edge.source_handle == handle) for edge in out_edges.get(node_id, ())]
    while work:
        edge, taken = work.pop()
        target = edge.target
        if taken:
            took_edge = True
            state.taken.add(edge.id)
            predecessor.setdefault(target, edge.source)
        remaining[target] -= 1
        if remaining[target] == 0:
            if target in predecessor:
                ready.append(target)
            else:  # every way in was skipped: skip it and what only it leads to
                skipped.append(target)
                work.extend((e, False) for e in out_edges.get(target, ()))
    ready.reverse()
    return Readiness(ready, skipped, took_edge)

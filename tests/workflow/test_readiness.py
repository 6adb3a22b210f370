"""Which nodes run next, which are skipped: `readiness.follow_edges` on hand-built edges, without an engine."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from kawa.workflow.graph import Edge
from kawa.workflow.readiness import EdgeState, follow_edges


def edges(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[dict[str, tuple[Edge, ...]], EdgeState]:
    """Out-edges and the initial state of a level from (source, target[, source_handle]) triples."""
    out: defaultdict[str, list[Edge]] = defaultdict(list)
    into: defaultdict[str, list[Edge]] = defaultdict(list)
    for index, spec in enumerate(specs):
        source, target = spec[0], spec[1]
        handle = spec[2] if len(spec) == 3 else "source"
        edge = Edge(id=f"{source}-{handle}-{target}", source=source, target=target, source_handle=handle, index=index)
        out[source].append(edge)
        into[target].append(edge)
        into.setdefault(source, [])
    out_edges = {node: tuple(found) for node, found in out.items()}
    return out_edges, EdgeState.initial(into)


def follow(
    out_edges: Mapping[str, tuple[Edge, ...]], state: EdgeState, node: str, handle: str = "source"
) -> tuple[list[str], list[str], bool]:
    readiness = follow_edges(out_edges, state, node, handle)
    return readiness.ready, readiness.skipped, readiness.took_edge


def test_a_taken_edge_makes_its_only_target_ready_with_the_source_as_predecessor() -> None:
    out_edges, state = edges(("start", "a"))
    assert follow(out_edges, state, "start") == (["a"], [], True)
    assert state.predecessor == {"a": "start"}
    assert state.taken == {"start-source-a"}


def test_fan_out_makes_every_target_ready_in_edge_order() -> None:
    out_edges, state = edges(("start", "a"), ("start", "b"), ("start", "c"))
    assert follow(out_edges, state, "start")[0] == ["a", "b", "c"]


def test_a_join_is_ready_only_when_every_incoming_edge_is_resolved() -> None:
    out_edges, state = edges(("start", "a"), ("start", "b"), ("a", "join"), ("b", "join"))
    follow(out_edges, state, "start")
    assert follow(out_edges, state, "a") == ([], [], True)
    assert follow(out_edges, state, "b") == (["join"], [], True)
    assert state.predecessor["join"] == "a"  # the first taken way in


def test_the_branch_not_taken_is_skipped_with_what_only_it_leads_to() -> None:
    out_edges, state = edges(("if", "yes", "true"), ("if", "no", "false"), ("no", "after_no"), ("after_no", "end_no"))
    ready, skipped, took_edge = follow(out_edges, state, "if", "true")
    assert ready == ["yes"]
    assert skipped == ["no", "after_no", "end_no"]
    assert took_edge


def test_a_join_of_a_taken_and_a_skipped_branch_still_runs() -> None:
    out_edges, state = edges(("if", "yes", "true"), ("if", "no", "false"), ("yes", "join"), ("no", "join"))
    assert follow(out_edges, state, "if", "true") == (["yes"], ["no"], True)
    assert follow(out_edges, state, "yes") == (["join"], [], True)
    assert state.predecessor["join"] == "yes"


def test_a_node_whose_every_way_in_was_skipped_is_skipped() -> None:
    out_edges, state = edges(("if", "a", "x"), ("if", "b", "y"), ("a", "join"), ("b", "join"))
    assert follow(out_edges, state, "if", "none-of-them") == ([], ["b", "a", "join"], False)
    assert not state.taken


def test_a_node_without_outgoing_edges_changes_nothing() -> None:
    out_edges, state = edges(("start", "end"))
    follow(out_edges, state, "start")
    assert follow(out_edges, state, "end") == ([], [], False)


def test_fail_branch_takes_only_the_edges_of_that_handle() -> None:
    out_edges, state = edges(("llm", "ok"), ("llm", "recover", "fail-branch"))
    assert follow(out_edges, state, "llm", "fail-branch") == (["recover"], ["ok"], True)

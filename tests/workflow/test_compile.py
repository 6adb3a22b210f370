"""compile_graph: what a compiled graph holds, and each kind of broken graph refused with a precise path."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from workflow_dsl import chain, child, edge, end, graph, load_fixture, node, start, template

from kawa.errors import DslError
from kawa.workflow.errors import GraphCompileError
from kawa.workflow.graph import compile_graph
from kawa.workflow.nodes import KNOWN_NODE_TYPES


def valid() -> dict[str, Any]:
    return graph(
        [start("q"), template("t", "{{ q }}", q=["start", "q"]), end(out=["t", "output"])], chain("start", "t", "end")
    )


def refused(spec: dict[str, Any]) -> GraphCompileError:
    with pytest.raises(GraphCompileError) as info:
        compile_graph(spec)
    return info.value


# -- what compiles


def test_a_valid_graph_compiles_with_edges_indexed_both_ways() -> None:
    compiled = compile_graph(valid())
    assert compiled.root_id == "start"
    assert [e.target for e in compiled.out_edges["start"]] == ["t"]
    assert [e.source for e in compiled.in_edges["end"]] == ["t"]
    assert compiled.nodes["t"].type == "template-transform"


def test_sticky_notes_are_dropped() -> None:
    spec = valid()
    spec["nodes"].append({"id": "note", "type": "custom-note", "data": {"type": "", "text": "hi"}})
    assert "note" not in compile_graph(spec).nodes


def test_container_children_compile_into_a_subgraph() -> None:
    spec = graph(
        [
            start(),
            node("it", "iteration", iterator_selector=["start", "x"], output_selector=["c", "output"]),
            child("it", "s", "iteration-start"),
            child("it", "c", "template-transform", template="x"),
            end(),
        ],
        [*chain("start", "it", "end"), edge("s", "c")],
    )
    compiled = compile_graph(spec)
    assert set(compiled.nodes) == {"start", "it", "end"}
    assert compiled.subgraphs["it"].root_id == "s"
    assert set(compiled.subgraphs["it"].nodes) == {"s", "c"}


def test_dify_style_children_marked_with_iteration_id_are_found() -> None:
    spec = graph(
        [
            start(),
            node(
                "it", "iteration", iterator_selector=["start", "x"], output_selector=["c", "output"], start_node_id="s"
            ),
            node("s", "iteration-start", isInIteration=True, iteration_id="it"),
            node("c", "template-transform", template="x", isInIteration=True, iteration_id="it"),
            end(),
        ],
        [*chain("start", "it", "end"), edge("s", "c")],
    )
    assert set(compile_graph(spec).subgraphs["it"].nodes) == {"s", "c"}


def test_model_backed_node_types_are_known_for_import() -> None:
    assert {"llm", "code", "http-request", "question-classifier", "tool", "agent"} <= KNOWN_NODE_TYPES
    assert "custom-note" not in KNOWN_NODE_TYPES


def test_compile_errors_are_dsl_errors_with_invalid_param_code() -> None:
    spec = valid()
    spec["nodes"][1]["data"]["type"] = "nope"
    error = refused(spec)
    assert isinstance(error, DslError)
    assert error.status == 400


def test_realistic_fixture_compiles() -> None:
    doc = load_fixture("chatflow-iteration.yml")
    compiled = compile_graph(doc["workflow"]["graph"])
    assert {"iterate", "loop", "remember", "answer"} <= set(compiled.nodes)
    assert set(compiled.subgraphs["iterate"].nodes) == {"iteratestart", "fmt", "is_first", "star", "plain", "pick"}
    assert "1730000000099" not in compiled.nodes


# -- what is refused


def test_unknown_node_type() -> None:
    spec = valid()
    spec["nodes"][1]["data"]["type"] = "foo"
    error = refused(spec)
    assert error.path == "workflow.graph.nodes[1].data.type"
    assert "unknown node type 'foo'" in error.message


def test_missing_node_type() -> None:
    spec = valid()
    del spec["nodes"][1]["data"]["type"]
    assert refused(spec).path == "workflow.graph.nodes[1].data.type"


def test_duplicate_node_id() -> None:
    spec = valid()
    spec["nodes"][2]["id"] = "t"
    error = refused(spec)
    assert error.path == "workflow.graph.nodes[2].id"
    assert "duplicate" in error.message


def test_edge_to_a_missing_node() -> None:
    spec = valid()
    spec["edges"][1]["target"] = "nowhere"
    error = refused(spec)
    assert error.path == "workflow.graph.edges[1].target"
    assert "nowhere" in error.message


def test_edge_from_a_missing_node() -> None:
    spec = valid()
    spec["edges"][0]["source"] = "ghost"
    assert refused(spec).path == "workflow.graph.edges[0].source"


def test_cycle_outside_a_container() -> None:
    spec = valid()
    spec["edges"].append(edge("t", "start"))
    error = refused(spec)
    assert error.path == "workflow.graph.edges[2]"
    assert "cycle" in error.message
    assert "start -> t -> start" in error.message


def test_self_loop_is_a_cycle() -> None:
    spec = valid()
    spec["edges"].append(edge("t", "t"))
    assert "cycle" in refused(spec).message


def test_cycle_inside_a_container() -> None:
    spec = graph(
        [
            start(),
            node("it", "iteration", iterator_selector=["start", "x"], output_selector=["a", "output"]),
            child("it", "s", "iteration-start"),
            child("it", "a", "template-transform", template="a"),
            child("it", "b", "template-transform", template="b"),
            end(),
        ],
        [*chain("start", "it", "end"), *chain("s", "a", "b"), edge("b", "a")],
    )
    assert "cycle" in refused(spec).message


def test_missing_start_node() -> None:
    spec = valid()
    spec["nodes"] = spec["nodes"][1:]
    spec["edges"] = spec["edges"][1:]
    error = refused(spec)
    assert error.path == "workflow.graph.nodes"
    assert "start" in error.message


def test_two_start_nodes() -> None:
    spec = valid()
    second = copy.deepcopy(spec["nodes"][0])
    second["id"] = "start2"
    spec["nodes"].append(second)
    assert refused(spec).path == "workflow.graph.nodes[3].data.type"


def test_duplicate_start_variable() -> None:
    spec = valid()
    spec["nodes"][0]["data"]["variables"].append({"variable": "q", "type": "text-input"})
    error = refused(spec)
    assert error.path == "workflow.graph.nodes[0].data.variables[1].variable"
    assert "duplicate" in error.message


def test_selector_to_a_missing_node() -> None:
    spec = valid()
    spec["nodes"][2]["data"]["outputs"][0]["value_selector"] = ["ghost", "output"]
    error = refused(spec)
    assert error.path == "workflow.graph.nodes[2].data.outputs[0].value_selector"
    assert "ghost" in error.message


def test_template_reference_to_a_missing_node() -> None:
    spec = graph([start(), node("a", "answer", answer="Hi {{#ghost.text#}}")], chain("start", "a"))
    error = refused(spec)
    assert error.path == "workflow.graph.nodes[1].data.answer"
    assert "ghost" in error.message


def test_condition_selector_to_a_missing_node() -> None:
    spec = graph(
        [
            start(),
            node(
                "if",
                "if-else",
                cases=[
                    {
                        "case_id": "c",
                        "conditions": [{"variable_selector": ["ghost", "x"], "comparison_operator": "empty"}],
                    }
                ],
            ),
            end(),
        ],
        chain("start", "if", "end"),
    )
    assert refused(spec).path == "workflow.graph.nodes[1].data.cases[0].conditions[0].variable_selector"


def test_aggregator_selector_to_a_missing_node() -> None:
    spec = graph(
        [start(), node("agg", "variable-aggregator", variables=[["start", "a"], ["ghost", "b"]]), end()],
        chain("start", "agg", "end"),
    )
    assert refused(spec).path == "workflow.graph.nodes[1].data.variables[1]"


def test_namespaces_are_not_nodes() -> None:
    spec = graph(
        [start(), node("a", "answer", answer="{{#sys.query#}} {{#env.key#}} {{#conversation.name#}}")],
        chain("start", "a"),
    )
    compile_graph(spec)


def test_unknown_comparison_operator() -> None:
    spec = graph(
        [
            start(),
            node(
                "if",
                "if-else",
                cases=[
                    {
                        "case_id": "c",
                        "conditions": [{"variable_selector": ["start", "x"], "comparison_operator": "resembles"}],
                    }
                ],
            ),
            end(),
        ],
        chain("start", "if", "end"),
    )
    error = refused(spec)
    assert error.path == "workflow.graph.nodes[1].data.cases[0].conditions[0].comparison_operator"
    assert "resembles" in error.message


def test_unknown_assigner_operation() -> None:
    spec = graph(
        [
            start(),
            node(
                "set",
                "assigner",
                version="2",
                items=[{"variable_selector": ["conversation", "x"], "operation": "teleport", "value": 1}],
            ),
            end(),
        ],
        chain("start", "set", "end"),
    )
    assert refused(spec).path == "workflow.graph.nodes[1].data.items[0].operation"


def test_wrongly_typed_node_field() -> None:
    spec = valid()
    spec["nodes"][2]["data"]["outputs"] = "not a list"
    assert refused(spec).path == "workflow.graph.nodes[2].data.outputs"


def test_parent_that_does_not_exist() -> None:
    spec = valid()
    spec["nodes"].append(child("ghost", "c", "template-transform", template="x"))
    assert refused(spec).path == "workflow.graph.nodes[3].parentId"


def test_parent_that_is_not_a_container() -> None:
    spec = valid()
    spec["nodes"].append(child("t", "c", "template-transform", template="x"))
    assert "not an iteration or loop" in refused(spec).message


def test_edge_crossing_a_container_boundary() -> None:
    spec = graph(
        [
            start(),
            node("it", "iteration", iterator_selector=["start", "x"], output_selector=["c", "output"]),
            child("it", "s", "iteration-start"),
            child("it", "c", "template-transform", template="x"),
            end(),
        ],
        [*chain("start", "it", "end"), edge("s", "c"), edge("c", "end")],
    )
    error = refused(spec)
    assert error.path == "workflow.graph.edges[3]"
    assert "container" in error.message


def test_container_without_a_start_node() -> None:
    spec = graph(
        [
            start(),
            node("it", "iteration", iterator_selector=["start", "x"], output_selector=["c", "output"]),
            child("it", "c", "template-transform", template="x"),
            end(),
        ],
        chain("start", "it", "end"),
    )
    assert refused(spec).path == "workflow.graph.nodes[1].data.start_node_id"


def test_node_that_is_not_a_mapping() -> None:
    spec = valid()
    spec["nodes"].append("oops")
    assert refused(spec).path == "workflow.graph.nodes[3]"


def test_stale_selectors_under_a_disabled_feature_are_allowed() -> None:
    spec = valid()
    spec["nodes"][1]["data"]["context"] = {"enabled": False, "variable_selector": ["deleted_node", "result"]}
    compile_graph(spec)
    spec["nodes"][1]["data"]["context"]["enabled"] = True
    assert refused(spec).path == "workflow.graph.nodes[1].data.context.variable_selector"

"""Nodes that reshape data: template-transform, variable-aggregator, list-operator."""

from __future__ import annotations

from typing import Any

import pytest
from workflow_dsl import chain, compile_test_graph, end, graph, node, run_graph, start, template

from kawa.workflow.errors import GraphCompileError
from kawa.workflow.runtime import EngineLimits

# -- template-transform


async def test_template_transform_renders_jinja_with_loops_and_filters() -> None:
    spec = graph(
        [
            start("items"),
            template("t", "{% for i in items %}{{ i | upper }};{% endfor %}", items=["start", "items"]),
            end(out=["t", "output"]),
        ],
        chain("start", "t", "end"),
    )
    run = await run_graph(spec, {"items": ["a", "b"]})
    assert run.finished.outputs == {"out": "A;B;"}


async def test_template_transform_is_sandboxed() -> None:
    spec = graph(
        [start(), template("t", "{{ ''.__class__.__mro__[1].__subclasses__() }}"), end()], chain("start", "t", "end")
    )
    run = await run_graph(spec)
    assert run.node_finished("t").status == "failed"


async def test_template_transform_output_is_capped() -> None:
    spec = graph([start(), template("t", "{{ 'x' * 50 }}"), end()], chain("start", "t", "end"))
    run = await run_graph(spec, limits=EngineLimits(template_max_output_chars=10))
    assert run.node_finished("t").status == "failed"
    assert "exceeds 10 characters" in (run.node_finished("t").error or "")


def test_template_syntax_error_is_a_compile_error() -> None:
    spec = graph([start(), template("t", "{% for x in %}"), end()], chain("start", "t", "end"))
    with pytest.raises(GraphCompileError) as info:
        compile_test_graph(spec)
    assert info.value.path == "workflow.graph.nodes[1].data.template"


async def test_template_transform_default_capacity_is_400000_chars() -> None:
    spec = graph([start(), template("t", "{{ 'x' * 400001 }}"), end()], chain("start", "t", "end"))
    run = await run_graph(spec)
    assert run.node_finished("t").status == "failed"


# -- variable-aggregator


async def test_aggregator_outputs_the_first_non_null_variable() -> None:
    spec = graph(
        [
            start("a", "b"),
            node("agg", "variable-aggregator", variables=[["start", "a"], ["start", "b"]]),
            end(out=["agg", "output"]),
        ],
        chain("start", "agg", "end"),
    )
    assert (await run_graph(spec, {"b": "B"})).finished.outputs == {"out": "B"}
    assert (await run_graph(spec, {"a": "A", "b": "B"})).finished.outputs == {"out": "A"}
    assert (await run_graph(spec, {})).finished.outputs == {"out": None}


async def test_aggregator_groups_output_one_value_per_group() -> None:
    settings = {
        "group_enabled": True,
        "groups": [
            {"group_name": "g1", "output_type": "string", "variables": [["start", "a"], ["start", "b"]]},
            {"group_name": "g2", "output_type": "string", "variables": [["start", "b"]]},
        ],
    }
    spec = graph(
        [
            start("a", "b"),
            node("agg", "variable-aggregator", advanced_settings=settings),
            end(g1=["agg", "g1", "output"], g2=["agg", "g2", "output"]),
        ],
        chain("start", "agg", "end"),
    )
    run = await run_graph(spec, {"b": "B"})
    assert run.finished.outputs == {"g1": "B", "g2": "B"}


async def test_legacy_variable_assigner_type_is_the_aggregator() -> None:
    spec = graph(
        [start("a"), node("agg", "variable-assigner", variables=[["start", "a"]]), end(out=["agg", "output"])],
        chain("start", "agg", "end"),
    )
    assert (await run_graph(spec, {"a": 1})).finished.outputs == {"out": 1}


# -- list-operator


def list_graph(**data: Any) -> dict[str, Any]:
    return graph(
        [
            start("items"),
            node("list", "list-operator", variable=["start", "items"], **data),
            end(result=["list", "result"], first=["list", "first_record"], last=["list", "last_record"]),
        ],
        chain("start", "list", "end"),
    )


async def list_run(items: Any, **data: Any) -> dict[str, Any]:
    run = await run_graph(list_graph(**data), {"items": items})
    assert run.finished.status == "succeeded", run.finished.error
    return dict(run.finished.outputs)


async def test_list_operator_filters_strings() -> None:
    out = await list_run(
        ["apple", "banana", "avocado"],
        filter_by={"enabled": True, "conditions": [{"comparison_operator": "start with", "value": "a"}]},
    )
    assert out == {"result": ["apple", "avocado"], "first": "apple", "last": "avocado"}


async def test_list_operator_filters_numbers_with_cast_values() -> None:
    out = await list_run(
        [1, 5, 10], filter_by={"enabled": True, "conditions": [{"comparison_operator": ">", "value": "3"}]}
    )
    assert out["result"] == [5, 10]


async def test_list_operator_filters_files_by_attribute() -> None:
    files = [
        {"dify_model_identity": "__dify__file__", "type": t, "filename": n, "extension": e}
        for t, n, e in (("image", "a.png", ".png"), ("document", "b.pdf", ".pdf"))
    ]
    out = await list_run(
        files,
        filter_by={
            "enabled": True,
            "conditions": [{"key": "type", "comparison_operator": "in", "value": ["document"]}],
        },
    )
    assert [f["filename"] for f in out["result"]] == ["b.pdf"]


async def test_list_operator_orders_limits_and_extracts() -> None:
    assert (await list_run([3, 1, 2], order_by={"enabled": True, "value": "desc"}))["result"] == [3, 2, 1]
    assert (await list_run([3, 1, 2], order_by={"enabled": True, "value": "asc"}, limit={"enabled": True, "size": 2}))[
        "result"
    ] == [1, 2]
    assert (await list_run(["a", "b", "c"], extract_by={"enabled": True, "serial": "2"}))["result"] == ["b"]


async def test_list_operator_orders_objects_by_key() -> None:
    out = await list_run([{"n": 2}, {"n": 1}], order_by={"enabled": True, "key": "n", "value": "asc"})
    assert out["result"] == [{"n": 1}, {"n": 2}]


async def test_list_operator_on_an_empty_list_gives_empty_records() -> None:
    assert await list_run([]) == {"result": [], "first": None, "last": None}


async def test_list_operator_extract_out_of_range_fails() -> None:
    run = await run_graph(list_graph(extract_by={"enabled": True, "serial": "5"}), {"items": ["a"]})
    assert run.finished.status == "failed"

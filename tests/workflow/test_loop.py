"""The loop container: loop variables, break conditions, loop-end, rounds, events."""

from __future__ import annotations

from typing import Any

from workflow_dsl import chain, child, edge, end, graph, node, run_graph, start

from kawa.workflow.events import LoopCompleted, LoopNext, LoopStarted, NodeStarted


def add_one() -> dict[str, Any]:
    return child(
        "loop",
        "add",
        "assigner",
        version="2",
        items=[{"variable_selector": ["loop", "n"], "input_type": "constant", "operation": "+=", "value": 1}],
    )


def loop_graph(body: list[dict[str, Any]], body_edges: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    options.setdefault("loop_variables", [{"label": "n", "var_type": "number", "value_type": "constant", "value": "0"}])
    return graph(
        [
            start("limit"),
            node("loop", "loop", start_node_id="loop_start", **options),
            child("loop", "loop_start", "loop-start"),
            *body,
            end(n=["loop", "n"], rounds=["loop", "loop_round"]),
        ],
        [*chain("start", "loop", "end"), *body_edges],
    )


async def test_loop_runs_loop_count_rounds_and_outputs_its_variables() -> None:
    run = await run_graph(loop_graph([add_one()], [edge("loop_start", "add")], loop_count=4))
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"n": 4, "rounds": 4}


async def test_break_condition_stops_the_loop() -> None:
    breaks = [{"variable_selector": ["loop", "n"], "comparison_operator": "≥", "value": "3"}]
    run = await run_graph(
        loop_graph(
            [add_one()], [edge("loop_start", "add")], loop_count=10, break_conditions=breaks, logical_operator="and"
        )
    )
    assert run.finished.outputs == {"n": 3, "rounds": 3}
    assert run.of(LoopCompleted)[0].steps == 3


async def test_a_break_condition_true_from_the_start_runs_no_round() -> None:
    breaks = [{"variable_selector": ["loop", "n"], "comparison_operator": "=", "value": "0"}]
    run = await run_graph(loop_graph([add_one()], [edge("loop_start", "add")], loop_count=10, break_conditions=breaks))
    assert run.finished.outputs == {"n": 0, "rounds": 0}
    assert "add" not in run.started_ids()


async def test_loop_end_node_breaks_the_loop() -> None:
    cases = [
        {
            "case_id": "done",
            "logical_operator": "and",
            "conditions": [{"variable_selector": ["loop", "n"], "comparison_operator": "≥", "value": "2"}],
        }
    ]
    body = [add_one(), child("loop", "check", "if-else", cases=cases), child("loop", "stop", "loop-end")]
    edges = [*chain("loop_start", "add", "check"), edge("check", "stop", "done")]
    run = await run_graph(loop_graph(body, edges, loop_count=10))
    assert run.finished.outputs == {"n": 2, "rounds": 2}


async def test_loop_variable_may_start_from_another_variable() -> None:
    variables = [{"label": "n", "var_type": "number", "value_type": "variable", "value": ["start", "limit"]}]
    run = await run_graph(
        loop_graph([add_one()], [edge("loop_start", "add")], loop_count=2, loop_variables=variables), {"limit": 10}
    )
    assert run.finished.outputs == {"n": 12, "rounds": 2}


async def test_loop_variables_of_every_constant_type_are_parsed() -> None:
    variables = [
        {"label": "n", "var_type": "number", "value_type": "constant", "value": "1.5"},
        {"label": "s", "var_type": "string", "value_type": "constant", "value": "x"},
        {"label": "b", "var_type": "boolean", "value_type": "constant", "value": "true"},
        {"label": "o", "var_type": "object", "value_type": "constant", "value": '{"k": 1}'},
        {"label": "a", "var_type": "array[string]", "value_type": "constant", "value": '["p"]'},
    ]
    run = await run_graph(loop_graph([], [], loop_count=0, loop_variables=variables))
    started = run.of(LoopStarted)[0]
    assert started.inputs == {"loop_count": 0, "n": 1.5, "s": "x", "b": True, "o": {"k": 1}, "a": ["p"]}


async def test_loop_emits_started_next_completed_and_children_carry_loop_ids() -> None:
    run = await run_graph(loop_graph([add_one()], [edge("loop_start", "add")], loop_count=3))
    assert "loop" not in run.started_ids()
    assert run.of(LoopStarted)[0].metadata == {"loop_length": 3}
    assert [e.index for e in run.of(LoopNext)] == [1, 2]
    assert run.of(LoopNext)[0].pre_output == {"n": 1, "loop_round": 1}
    completed = run.of(LoopCompleted)[0]
    assert completed.status == "succeeded"
    assert completed.outputs == {"n": 3, "loop_round": 3}
    adds = [e for e in run.of(NodeStarted) if e.node_id == "add"]
    assert [(e.loop_id, e.loop_index) for e in adds] == [("loop", 0), ("loop", 1), ("loop", 2)]


async def test_a_failing_round_fails_the_loop() -> None:
    body = [child("loop", "boom", "test-flaky", failures=1, message="round failed")]
    run = await run_graph(loop_graph(body, [edge("loop_start", "boom")], loop_count=3))
    assert run.finished.status == "failed"
    assert run.finished.error == "round failed"
    assert run.of(LoopCompleted)[0].status == "failed"


async def test_loop_with_default_value_strategy_continues_after_failure() -> None:
    body = [child("loop", "boom", "test-flaky", failures=1, message="round failed")]
    run = await run_graph(
        loop_graph(
            body,
            [edge("loop_start", "boom")],
            loop_count=3,
            error_strategy="default-value",
            default_value=[{"key": "n", "type": "number", "value": "-1"}],
        )
    )
    assert run.finished.status == "partial-succeeded"
    assert run.finished.outputs["n"] == -1

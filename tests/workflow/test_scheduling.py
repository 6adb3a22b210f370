"""Which nodes run, when: concurrency of branches, joins, and skip propagation."""

from __future__ import annotations

from workflow_dsl import chain, edge, end, graph, node, run_graph, start, template

IS_YES = [
    {
        "case_id": "yes",
        "logical_operator": "and",
        "conditions": [{"variable_selector": ["start", "q"], "comparison_operator": "is", "value": "yes"}],
    }
]


async def test_parallel_branches_run_concurrently() -> None:
    spec = graph(
        [
            start(),
            node("a", "test-sleep", seconds=0.3, value=1),
            node("b", "test-sleep", seconds=0.3, value=2),
            end(a=["a", "value"], b=["b", "value"]),
        ],
        [edge("start", "a"), edge("start", "b"), edge("a", "end"), edge("b", "end")],
    )
    run = await run_graph(spec)
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"a": 1, "b": 2}
    assert run.elapsed < 0.5  # serial would take 0.6 s


async def test_a_join_waits_for_every_incoming_branch() -> None:
    spec = graph(
        [
            start(),
            node("fast", "test-sleep", seconds=0, value="f"),
            node("slow", "test-sleep", seconds=0.05, value="s"),
            template("join", "{{ f }}{{ s }}", f=["fast", "value"], s=["slow", "value"]),
            end(out=["join", "output"]),
        ],
        [edge("start", "fast"), edge("start", "slow"), edge("fast", "join"), edge("slow", "join"), edge("join", "end")],
    )
    run = await run_graph(spec)
    assert run.finished.outputs == {"out": "fs"}
    assert run.started_ids().count("join") == 1


async def test_an_untaken_branch_skips_its_nodes_and_what_only_they_reach() -> None:
    spec = graph(
        [
            start("q"),
            node("if", "if-else", cases=IS_YES),
            template("y1", "y1"),
            template("y2", "y2"),
            template("n1", "n1"),
            end(out=["n1", "output"]),
        ],
        [
            *chain("start", "if"),
            edge("if", "y1", "yes"),
            edge("y1", "y2"),
            edge("if", "n1", "false"),
            edge("n1", "end"),
        ],
    )
    run = await run_graph(spec, {"q": "no"})
    assert run.started_ids() == ["start", "if", "n1", "end"]
    assert run.finished.outputs == {"out": "n1"}


async def test_a_node_reached_by_a_taken_and_a_skipped_branch_still_runs() -> None:
    spec = graph(
        [
            start("q"),
            node("if", "if-else", cases=IS_YES),
            template("y", "Y"),
            template("n", "N"),
            node("agg", "variable-aggregator", variables=[["y", "output"], ["n", "output"]]),
            end(out=["agg", "output"]),
        ],
        [
            *chain("start", "if"),
            edge("if", "y", "yes"),
            edge("if", "n", "false"),
            edge("y", "agg"),
            edge("n", "agg"),
            edge("agg", "end"),
        ],
    )
    assert (await run_graph(spec, {"q": "yes"})).finished.outputs == {"out": "Y"}
    assert (await run_graph(spec, {"q": "no"})).finished.outputs == {"out": "N"}


async def test_legacy_if_else_with_true_false_handles() -> None:
    spec = graph(
        [
            start("q"),
            node(
                "if",
                "if-else",
                logical_operator="and",
                conditions=[{"variable_selector": ["start", "q"], "comparison_operator": "contains", "value": "up"}],
            ),
            template("t", "T"),
            template("f", "F"),
            node("agg", "variable-aggregator", variables=[["t", "output"], ["f", "output"]]),
            end(out=["agg", "output"]),
        ],
        [
            *chain("start", "if"),
            edge("if", "t", "true"),
            edge("if", "f", "false"),
            edge("t", "agg"),
            edge("f", "agg"),
            edge("agg", "end"),
        ],
    )
    assert (await run_graph(spec, {"q": "upgrade"})).finished.outputs == {"out": "T"}
    assert (await run_graph(spec, {"q": "down"})).finished.outputs == {"out": "F"}


async def test_nodes_unreachable_from_start_never_run_nor_block() -> None:
    spec = graph(
        [start(), template("orphan", "o"), template("t", "t"), end(out=["t", "output"])],
        [*chain("start", "t", "end"), edge("orphan", "t")],
    )
    run = await run_graph(spec)
    assert run.finished.status == "succeeded"
    assert "orphan" not in run.started_ids()


async def test_many_branches_from_one_node_all_run() -> None:
    branches = [template(f"b{i}", str(i)) for i in range(20)]
    spec = graph(
        [start(), *branches, end()],
        [*(edge("start", f"b{i}") for i in range(20)), *(edge(f"b{i}", "end") for i in range(20))],
    )
    run = await run_graph(spec)
    assert sorted(run.started_ids()) == sorted(["start", "end", *(f"b{i}" for i in range(20))])
    assert run.finished.total_steps == 22

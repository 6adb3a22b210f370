"""Node failures: failing the run, default values, fail branches, retries."""

from __future__ import annotations

from workflow_dsl import chain, edge, end, graph, node, run_graph, start, template

from kawa.workflow.events import NodeFinished, NodeRetry, NodeStarted


def flaky(node_id: str, failures: int, **data: object) -> dict[str, object]:
    return node(node_id, "test-flaky", failures=failures, message="boom", **data)


async def test_a_failing_node_without_strategy_fails_the_run_with_its_error() -> None:
    run = await run_graph(
        graph([start(), flaky("f", 1), template("after", "x"), end()], chain("start", "f", "after", "end"))
    )
    assert run.node_finished("f").status == "failed"
    assert run.node_finished("f").error == "boom"
    assert run.finished.status == "failed"
    assert run.finished.error == "boom"
    assert "after" not in run.started_ids()


async def test_a_failure_stops_the_nodes_running_on_other_branches() -> None:
    spec = graph(
        [start(), flaky("f", 1), node("slow", "test-sleep", seconds=5), end()],
        [edge("start", "f"), edge("start", "slow"), edge("f", "end"), edge("slow", "end")],
    )
    run = await run_graph(spec)
    assert run.finished.status == "failed"
    assert run.node_finished("slow").status == "stopped"
    assert run.elapsed < 1


async def test_default_value_strategy_outputs_defaults_and_continues() -> None:
    spec = graph(
        [
            start(),
            flaky(
                "f",
                1,
                error_strategy="default-value",
                default_value=[
                    {"key": "attempts", "type": "number", "value": "0"},
                    {"key": "note", "type": "string", "value": "n/a"},
                ],
            ),
            end(attempts=["f", "attempts"], note=["f", "note"]),
        ],
        chain("start", "f", "end"),
    )
    run = await run_graph(spec)
    finished = run.node_finished("f")
    assert finished.status == "exception"
    assert finished.error == "boom"
    assert finished.outputs == {"attempts": 0, "note": "n/a", "error_message": "boom", "error_type": "FlakyError"}
    assert finished.execution_metadata is not None
    assert finished.execution_metadata["error_strategy"] == "default-value"
    assert run.finished.status == "partial-succeeded"
    assert run.finished.exceptions_count == 1
    assert run.finished.outputs == {"attempts": 0, "note": "n/a"}


async def test_fail_branch_strategy_follows_the_fail_branch_only() -> None:
    spec = graph(
        [
            start(),
            flaky("f", 1, error_strategy="fail-branch"),
            template("ok", "ok"),
            template("handler", "{{ e }}", e=["f", "error_message"]),
            node("agg", "variable-aggregator", variables=[["ok", "output"], ["handler", "output"]]),
            end(out=["agg", "output"]),
        ],
        [
            *chain("start", "f"),
            edge("f", "ok"),
            edge("f", "handler", "fail-branch"),
            edge("ok", "agg"),
            edge("handler", "agg"),
            edge("agg", "end"),
        ],
    )
    run = await run_graph(spec)
    assert run.node_finished("f").status == "exception"
    assert run.node_finished("f").outputs == {"error_message": "boom", "error_type": "FlakyError"}
    assert "ok" not in run.started_ids()
    assert run.finished.outputs == {"out": "boom"}
    assert run.finished.status == "partial-succeeded"


async def test_fail_branch_node_that_succeeds_takes_the_normal_edge() -> None:
    spec = graph(
        [
            start(),
            flaky("f", 0, error_strategy="fail-branch"),
            template("ok", "ok"),
            template("handler", "h"),
            node("agg", "variable-aggregator", variables=[["ok", "output"], ["handler", "output"]]),
            end(out=["agg", "output"]),
        ],
        [
            *chain("start", "f"),
            edge("f", "ok"),
            edge("f", "handler", "fail-branch"),
            edge("ok", "agg"),
            edge("handler", "agg"),
            edge("agg", "end"),
        ],
    )
    run = await run_graph(spec)
    assert run.finished.outputs == {"out": "ok"}
    assert run.finished.status == "succeeded"


async def test_retries_emit_node_retry_then_succeed() -> None:
    spec = graph(
        [
            start(),
            flaky("f", 2, retry_config={"retry_enabled": True, "max_retries": 3, "retry_interval": 10}),
            end(n=["f", "attempts"]),
        ],
        chain("start", "f", "end"),
    )
    run = await run_graph(spec)
    retries = run.of(NodeRetry)
    assert [r.retry_index for r in retries] == [1, 2]
    assert all(r.error == "boom" and r.node_id == "f" and r.status == "retry" for r in retries)
    assert run.node_finished("f").status == "succeeded"
    assert run.finished.outputs == {"n": 3}
    assert [e.node_id for e in run.of(NodeStarted)].count("f") == 1
    assert run.elapsed >= 0.02


async def test_retries_exhausted_fall_back_to_the_error_strategy() -> None:
    spec = graph(
        [
            start(),
            flaky(
                "f",
                5,
                retry_config={"retry_enabled": True, "max_retries": 2, "retry_interval": 0},
                error_strategy="default-value",
                default_value=[{"key": "attempts", "type": "number", "value": -1}],
            ),
            end(n=["f", "attempts"]),
        ],
        chain("start", "f", "end"),
    )
    run = await run_graph(spec)
    assert len(run.of(NodeRetry)) == 2
    assert run.finished.outputs == {"n": -1}
    assert run.finished.status == "partial-succeeded"


async def test_retry_disabled_means_one_attempt() -> None:
    spec = graph(
        [start(), flaky("f", 1, retry_config={"retry_enabled": False, "max_retries": 3}), end()],
        chain("start", "f", "end"),
    )
    run = await run_graph(spec)
    assert run.of(NodeRetry) == []
    assert run.finished.status == "failed"


async def test_every_started_node_gets_exactly_one_finished_event() -> None:
    spec = graph(
        [start(), flaky("f", 1), node("s", "test-sleep", seconds=1), end()],
        [edge("start", "f"), edge("start", "s"), edge("f", "end"), edge("s", "end")],
    )
    run = await run_graph(spec)
    assert sorted(run.started_ids()) == sorted(e.node_id for e in run.of(NodeFinished))


async def test_a_node_returning_something_else_than_a_result_fails_cleanly() -> None:
    from workflow_dsl import TEST_REGISTRY, SleepNode

    from kawa.workflow.graph import compile_graph

    class BrokenNode(SleepNode):
        node_type = "test-broken"

        async def run(self, ctx):  # type: ignore[no-untyped-def]
            return {"oops": 1}

    compiled = compile_graph(
        graph([start(), node("b", "test-broken"), end()], chain("start", "b", "end")),
        registry=TEST_REGISTRY.with_nodes(BrokenNode),
    )
    run = await run_graph(compiled)
    assert run.finished.status == "failed"
    # A programming error's text stays in the server log; the run says where to look.
    assert "Internal Server Error" in (run.finished.error or "") and "request id" in (run.finished.error or "")

"""The iteration container: items, outputs, parallelism, error modes, events."""

from __future__ import annotations

from typing import Any

from workflow_dsl import chain, child, edge, end, graph, node, run_graph, start

from kawa.workflow.events import IterationCompleted, IterationNext, IterationStarted, NodeStarted, TextChunk
from kawa.workflow.runtime import EngineLimits


def iteration_graph(
    body: list[dict[str, Any]], body_edges: list[dict[str, Any]], output: list[str], **options: Any
) -> dict[str, Any]:
    return graph(
        [
            start(),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "items"],
                output_selector=output,
                start_node_id="it_start",
                **options,
            ),
            child("it", "it_start", "iteration-start"),
            *body,
            end(out=["it", "output"]),
        ],
        [*chain("start", "it", "end"), *body_edges],
    )


def doubler() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    body = [
        child(
            "it",
            "t",
            "template-transform",
            template="{{ x }}{{ x }}@{{ i }}",
            variables=[
                {"variable": "x", "value_selector": ["it", "item"]},
                {"variable": "i", "value_selector": ["it", "index"]},
            ],
        )
    ]
    return body, [edge("it_start", "t")], ["t", "output"]


async def test_iteration_runs_the_body_per_item_and_collects_outputs() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": ["a", "b", "c"]})
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"out": ["aa@0", "bb@1", "cc@2"]}


async def test_iteration_emits_its_own_events_instead_of_node_events() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": ["a", "b"]})
    assert "it" not in run.started_ids()
    assert "it_start" not in run.started_ids()  # invisible, as in Dify
    started = run.of(IterationStarted)[0]
    assert started.node_id == "it"
    assert started.metadata == {"iteration_length": 2}
    assert started.inputs == {"iterator_selector": ["a", "b"]}
    assert [e.index for e in run.of(IterationNext)] == [0, 1]
    completed = run.of(IterationCompleted)[0]
    assert completed.status == "succeeded"
    assert completed.outputs == {"output": ["aa@0", "bb@1"]}
    assert completed.steps == 2
    assert completed.id == started.id


async def test_child_node_events_carry_the_iteration_id_and_index() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": ["a", "b"]})
    body = [e for e in run.of(NodeStarted) if e.node_id == "t"]
    assert [(e.iteration_id, e.iteration_index) for e in body] == [("it", 0), ("it", 1)]
    finished = [e for e in run.events if getattr(e, "node_id", None) == "t" and type(e).__name__ == "NodeFinished"]
    assert finished[0].execution_metadata == {"iteration_id": "it", "iteration_index": 0}


async def test_events_are_ordered_started_next_children_completed() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": ["a"]})
    names = [type(e).__name__ for e in run.events if getattr(e, "node_id", None) in ("it", "t", "it_start")]
    assert names[0] == "IterationStarted"
    assert names[1] == "IterationNext"
    assert names[-1] == "IterationCompleted"
    assert "NodeStarted" in names[2:-1]


async def test_an_empty_list_gives_an_empty_output() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": []})
    assert run.finished.outputs == {"out": []}


async def test_a_non_list_iterator_fails_the_iteration() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": "not a list"})
    assert run.finished.status == "failed"
    assert "Invalid iterator value" in (run.finished.error or "")
    assert run.of(IterationCompleted)[0].status == "failed"


async def test_list_outputs_are_flattened_when_every_item_gives_a_list() -> None:
    body = [child("it", "s", "test-sleep", value=[1, 2])]
    run = await run_graph(iteration_graph(body, [edge("it_start", "s")], ["s", "value"]), {"items": [0, 0]})
    assert run.finished.outputs == {"out": [1, 2, 1, 2]}
    run = await run_graph(
        iteration_graph(body, [edge("it_start", "s")], ["s", "value"], flatten_output=False), {"items": [0, 0]}
    )
    assert run.finished.outputs == {"out": [[1, 2], [1, 2]]}


async def test_parallel_iteration_runs_items_concurrently_and_keeps_order() -> None:
    body = [
        child("it", "s", "test-sleep", seconds=0.2),
        child(
            "it",
            "t",
            "template-transform",
            template="{{ x }}",
            variables=[{"variable": "x", "value_selector": ["it", "item"]}],
        ),
    ]
    spec = iteration_graph(body, chain("it_start", "s", "t"), ["t", "output"], is_parallel=True, parallel_nums=5)
    run = await run_graph(spec, {"items": ["a", "b", "c", "d", "e"]})
    assert run.finished.outputs == {"out": ["a", "b", "c", "d", "e"]}
    assert run.elapsed < 0.6  # serial would take 1 s


async def test_parallel_nums_bounds_concurrency() -> None:
    body = [child("it", "s", "test-sleep", seconds=0.1, value=1)]
    spec = iteration_graph(body, [edge("it_start", "s")], ["s", "value"], is_parallel=True, parallel_nums=2)
    run = await run_graph(spec, {"items": [1, 2, 3, 4]})
    assert run.finished.outputs == {"out": [1, 1, 1, 1]}
    assert 0.2 <= run.elapsed < 0.38  # 2 at a time: 0.2 s; all at once 0.1 s; serial 0.4 s


def failing_body() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    cases = [
        {
            "case_id": "bad",
            "logical_operator": "and",
            "conditions": [{"variable_selector": ["it", "item"], "comparison_operator": "is", "value": "bad"}],
        }
    ]
    body = [
        child("it", "if", "if-else", cases=cases),
        child("it", "boom", "test-flaky", failures=1, message="bad item"),
        child(
            "it",
            "ok",
            "template-transform",
            template="{{ x }}!",
            variables=[{"variable": "x", "value_selector": ["it", "item"]}],
        ),
    ]
    return body, [edge("it_start", "if"), edge("if", "boom", "bad"), edge("if", "ok", "false")], ["ok", "output"]


async def test_terminated_mode_fails_on_the_first_failing_item() -> None:
    run = await run_graph(iteration_graph(*failing_body()), {"items": ["a", "bad", "c"]})
    assert run.finished.status == "failed"
    assert run.finished.error == "bad item"
    assert len(run.of(IterationNext)) == 2


async def test_continue_on_error_mode_puts_null_for_failed_items() -> None:
    run = await run_graph(
        iteration_graph(*failing_body(), error_handle_mode="continue-on-error"), {"items": ["a", "bad", "c"]}
    )
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"out": ["a!", None, "c!"]}


async def test_remove_abnormal_output_mode_drops_failed_items() -> None:
    run = await run_graph(
        iteration_graph(*failing_body(), error_handle_mode="remove-abnormal-output"), {"items": ["a", "bad", "c"]}
    )
    assert run.finished.outputs == {"out": ["a!", "c!"]}


async def test_parallel_terminated_failure_stops_the_other_items() -> None:
    body, edges, output = failing_body()
    body.append(child("it", "wait", "test-sleep", seconds=5))
    edges = [*edges[:2], edge("if", "wait", "false"), edge("wait", "ok")]
    spec = iteration_graph(body, edges, output, is_parallel=True, parallel_nums=3)
    run = await run_graph(spec, {"items": ["a", "bad", "c"]})
    assert run.finished.status == "failed"
    assert run.elapsed < 1
    waits = [e for e in run.events if type(e).__name__ == "NodeFinished" and e.node_id == "wait"]
    assert waits and all(e.status == "stopped" for e in waits)


async def test_nested_iterations_beyond_max_depth_fail_the_run() -> None:
    spec = graph(
        [
            start(),
            node("outer", "iteration", iterator_selector=["start", "items"], output_selector=["inner", "output"]),
            child("outer", "o_start", "iteration-start"),
            child("outer", "inner", "iteration", iterator_selector=["outer", "item"], output_selector=["t", "output"]),
            child("inner", "i_start", "iteration-start"),
            child(
                "inner",
                "t",
                "template-transform",
                template="{{ x }}",
                variables=[{"variable": "x", "value_selector": ["inner", "item"]}],
            ),
            end(out=["outer", "output"]),
        ],
        [*chain("start", "outer", "end"), edge("o_start", "inner"), edge("i_start", "t")],
    )
    ok = await run_graph(spec, {"items": [["a", "b"], ["c"]]})
    assert ok.finished.outputs == {"out": ["a", "b", "c"]}
    too_deep = await run_graph(spec, {"items": [["a"]]}, limits=EngineLimits(max_depth=1))
    assert too_deep.finished.status == "failed"
    assert "depth" in (too_deep.finished.error or "")


async def test_steps_inside_iterations_count_toward_the_limit() -> None:
    run = await run_graph(iteration_graph(*doubler()), {"items": list(range(50))}, limits=EngineLimits(max_steps=30))
    assert run.finished.status == "failed"
    assert "steps" in (run.finished.error or "")


async def test_model_usage_inside_an_iteration_counts_for_the_run_and_the_container() -> None:
    body = [child("it", "m", "test-metered", tokens=7)]
    run = await run_graph(iteration_graph(body, [edge("it_start", "m")], ["m", "text"]), {"items": [1, 2, 3]})
    assert run.finished.total_tokens == 21
    assert run.of(IterationCompleted)[0].total_tokens == 21
    metered = [e for e in run.events if type(e).__name__ == "NodeFinished" and e.node_id == "m"]
    assert metered[0].execution_metadata["total_tokens"] == 7
    assert metered[0].execution_metadata["currency"] == "USD"


async def test_stopping_during_an_iteration_stops_children_and_the_container() -> None:
    import asyncio

    body = [child("it", "s", "test-sleep", seconds=10)]
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    run = await run_graph(
        iteration_graph(body, [edge("it_start", "s")], ["s", "value"], is_parallel=True), {"items": [1, 2]}, stop=stop
    )
    assert run.finished.status == "stopped"
    assert run.elapsed < 0.3
    assert [e.status for e in run.of(IterationCompleted)] == ["stopped"]
    sleeps = [e for e in run.events if type(e).__name__ == "NodeFinished" and e.node_id == "s"]
    assert [e.status for e in sleeps] == ["stopped", "stopped"]
    assert run.events.index(sleeps[-1]) < run.events.index(run.of(IterationCompleted)[0])


async def test_an_answer_inside_an_iteration_emits_its_text_per_item() -> None:
    body = [child("it", "say", "answer", answer="item {{#it.item#}};")]
    run = await run_graph(iteration_graph(body, [edge("it_start", "say")], ["say", "answer"]), {"items": ["a", "b"]})
    said = [c.text for c in run.of(TextChunk) if c.response_node_id == "say"]
    assert said == ["item a;", "item b;"]
    assert run.finished.outputs == {"out": ["item a;", "item b;"]}

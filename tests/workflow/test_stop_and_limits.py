"""Stopping a run, closing its stream, and the run limits."""

from __future__ import annotations

import asyncio

from workflow_dsl import chain, compile_test_graph, end, graph, node, run_graph, start, template

from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.events import NodeFinished, WorkflowFinished
from kawa.workflow.runtime import EngineLimits, NodeServices


def sleeper_graph(seconds: float = 10) -> dict[str, object]:
    return graph(
        [start(), node("s", "test-sleep", seconds=seconds), template("after", "x"), end()],
        chain("start", "s", "after", "end"),
    )


async def test_stop_cancels_an_awaiting_node_within_100_ms() -> None:
    stop = asyncio.Event()
    engine = WorkflowEngine(compile_test_graph(sleeper_graph()), services=NodeServices())
    loop = asyncio.get_running_loop()
    events = []
    stopped_at = None
    async for event in engine.run({}, {}, {}, set(), {}, stop):
        events.append(event)
        if isinstance(event, NodeFinished) and event.node_id == "start":
            loop.call_later(0.05, stop.set)
            stopped_at = loop.time() + 0.05
    assert stopped_at is not None
    assert loop.time() - stopped_at < 0.1
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished)
    assert finished.status == "stopped"
    assert finished.error == "Stopped by user."
    sleeping = [e for e in events if isinstance(e, NodeFinished) and e.node_id == "s"]
    assert [e.status for e in sleeping] == ["stopped"]
    assert "after" not in [getattr(e, "node_id", None) for e in events]


async def test_stop_set_before_the_run_stops_it_at_once() -> None:
    stop = asyncio.Event()
    stop.set()
    run = await run_graph(sleeper_graph(), stop=stop)
    assert run.finished.status == "stopped"
    assert run.elapsed < 0.1


async def test_closing_the_stream_cancels_running_nodes() -> None:
    cancelled = asyncio.Event()

    class Probe:
        async def run(self) -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.set()
                raise

    from workflow_dsl import TEST_REGISTRY, SleepNode

    class ProbeNode(SleepNode):
        node_type = "test-probe"

        async def run(self, ctx):  # type: ignore[no-untyped-def]
            await Probe().run()
            raise AssertionError("not reached")

    from kawa.workflow.graph import compile_graph

    compiled = compile_graph(
        graph([start(), node("p", "test-probe"), end()], chain("start", "p", "end")),
        registry=TEST_REGISTRY.with_nodes(ProbeNode),
    )
    stream = WorkflowEngine(compiled).run({}, {}, {}, set(), {}, asyncio.Event())
    async for event in stream:
        if isinstance(event, NodeFinished) and event.node_id == "start":
            break
    await asyncio.sleep(0.01)
    await stream.aclose()
    await asyncio.wait_for(cancelled.wait(), 0.5)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("node:")]


async def test_max_steps_fails_the_run() -> None:
    chain_ids = [f"t{i}" for i in range(10)]
    spec = graph([start(), *(template(i, i) for i in chain_ids), end()], chain("start", *chain_ids, "end"))
    run = await run_graph(spec, limits=EngineLimits(max_steps=5))
    assert run.finished.status == "failed"
    assert run.finished.error is not None and "steps" in run.finished.error
    assert run.finished.total_steps <= 6
    assert len(run.started_ids()) == 5


async def test_max_wall_time_fails_the_run_and_stops_the_node() -> None:
    run = await run_graph(sleeper_graph(), limits=EngineLimits(max_wall_time_s=0.05))
    assert run.finished.status == "failed"
    assert run.finished.error is not None and "time" in run.finished.error
    assert run.node_finished("s").status == "stopped"
    assert run.elapsed < 0.5


async def test_runs_of_one_compiled_graph_are_independent() -> None:
    compiled = compile_test_graph(
        graph(
            [start("n"), template("t", "{{ n }}", n=["start", "n"]), end(out=["t", "output"])],
            chain("start", "t", "end"),
        )
    )
    runs = await asyncio.gather(*(run_graph(compiled, {"n": str(i)}) for i in range(5)))
    assert [r.finished.outputs["out"] for r in runs] == ["0", "1", "2", "3", "4"]


async def test_a_long_chain_of_inline_nodes_still_lets_a_stop_through() -> None:
    ids = [f"t{i}" for i in range(450)]
    spec = graph([start(), *(template(i, i) for i in ids), end()], chain("start", *ids, "end"))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_soon(stop.set)
    run = await run_graph(spec, stop=stop, limits=EngineLimits(max_steps=1000))
    assert run.finished.status == "stopped"
    assert len(run.started_ids()) < 100


async def test_nodes_cancelled_by_a_failure_say_so() -> None:
    spec = graph(
        [start(), node("f", "test-flaky", failures=1), node("s", "test-sleep", seconds=5), end()],
        [*chain("start", "f", "end"), *chain("start", "s", "end")],
    )
    run = await run_graph(spec)
    assert run.node_finished("s").status == "stopped"
    assert run.node_finished("s").error == "Cancelled: the run failed."


async def test_nodes_stopped_inside_containers_say_stopped_by_user() -> None:
    from workflow_dsl import child, edge

    spec = graph(
        [
            start(),
            node("it", "iteration", iterator_selector=["start", "items"], output_selector=["s", "value"]),
            child("it", "it_start", "iteration-start"),
            child("it", "s", "test-sleep", seconds=5),
            end(),
        ],
        [*chain("start", "it", "end"), edge("it_start", "s")],
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    run = await run_graph(spec, {"items": [1]}, stop=stop)
    assert run.node_finished("s").error == "Stopped by user."


async def test_nothing_keeps_running_after_a_stopped_run_ends() -> None:
    from workflow_dsl import child, edge

    spec = graph(
        [
            start(),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "items"],
                is_parallel=True,
                output_selector=["s", "value"],
            ),
            child("it", "it_start", "iteration-start"),
            child("it", "s", "test-sleep", seconds=5),
            node("side", "test-sleep", seconds=5),
            end(),
        ],
        [*chain("start", "it", "end"), edge("it_start", "s"), edge("start", "side"), edge("side", "end")],
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    run = await run_graph(spec, {"items": [1, 2, 3]}, stop=stop)
    assert run.finished.status == "stopped"
    leftovers = [
        t for t in asyncio.all_tasks() if not t.done() and t.get_name().startswith(("node:", "iteration:", "workflow-"))
    ]
    assert leftovers == []

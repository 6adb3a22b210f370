"""Engine overhead per node: a 100-node chain of simple nodes (template-transform, if-else, variable-aggregator,
assigner), run in-process many times. Prints microseconds per node, event consumption included.

    .venv/bin/python bench/engine_overhead.py [--runs 200] [--nodes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.graph import compile_graph
from kawa.workflow.runtime import EngineLimits


def build_chain(length: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {
            "id": "start",
            "data": {"type": "start", "title": "Start", "variables": [{"variable": "name", "type": "text-input"}]},
        },
    ]
    edges: list[dict[str, Any]] = []
    previous, handle = "start", "source"
    for i in range(length - 2):
        node_id = f"n{i}"
        kind = i % 4
        if kind == 0:
            data = {
                "type": "template-transform",
                "title": node_id,
                "template": "{{ a }}-" + str(i),
                "variables": [{"variable": "a", "value_selector": ["start", "name"]}],
            }
        elif kind == 1:
            data = {
                "type": "if-else",
                "title": node_id,
                "cases": [
                    {
                        "case_id": "yes",
                        "logical_operator": "and",
                        "conditions": [{"variable_selector": ["start", "name"], "comparison_operator": "not empty"}],
                    }
                ],
            }
        elif kind == 2:
            data = {
                "type": "variable-aggregator",
                "title": node_id,
                "variables": [["start", "missing"], ["start", "name"]],
            }
        else:
            data = {
                "type": "assigner",
                "title": node_id,
                "version": "2",
                "items": [
                    {
                        "variable_selector": ["conversation", "count"],
                        "input_type": "constant",
                        "operation": "+=",
                        "value": 1,
                    }
                ],
            }
        nodes.append({"id": node_id, "data": data})
        edges.append({"source": previous, "sourceHandle": handle, "target": node_id})
        previous, handle = node_id, ("yes" if kind == 1 else "source")
    nodes.append(
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "out", "value_selector": ["n0", "output"]}],
            },
        }
    )
    edges.append({"source": previous, "sourceHandle": handle, "target": "end"})
    return {"nodes": nodes, "edges": edges}


async def one_run(engine: WorkflowEngine) -> int:
    count = 0
    async for _ in engine.run({"name": "kawa"}, {}, {}, set(), {"count": 0}, asyncio.Event()):
        count += 1
    return count


async def main(runs: int, length: int) -> None:
    graph = compile_graph(build_chain(length))
    engine = WorkflowEngine(graph, limits=EngineLimits(max_steps=length + 10))
    for _ in range(20):
        await one_run(engine)
    samples: list[float] = []
    gc.collect()
    for _ in range(runs):
        began = time.perf_counter()
        events = await one_run(engine)
        samples.append((time.perf_counter() - began) / length * 1e6)
    print(f"{length}-node chain, {runs} runs, {events} events per run")
    print(
        f"median {statistics.median(samples):.1f} µs per node "
        f"(p10 {statistics.quantiles(samples, n=10)[0]:.1f}, p90 {statistics.quantiles(samples, n=10)[-1]:.1f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.nodes))

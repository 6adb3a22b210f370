"""A Dify-style export with classifier, extractor, llm and tool nodes compiles and runs on the fake upstream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import yaml
from fakes.openai_server import FakeOpenAI, Scenario
from model_support import upstream_config

from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.events import NodeFinished, WorkflowFinished
from kawa.workflow.graph import compile_graph
from kawa.workflow.runtime import NodeServices

EXPORT = yaml.safe_load((Path(__file__).parent / "fixtures" / "workflow-models.yml").read_text())


async def run(fake: FakeOpenAI, runtime, question: str) -> list:
    engine = WorkflowEngine(compile_graph(EXPORT["workflow"]["graph"]), services=NodeServices(models=runtime))
    return [e async for e in engine.run({"question": question}, {}, {}, set(), {}, asyncio.Event())]


async def test_weather_branch_classifies_extracts_and_answers(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [
            Scenario(text='{"category_id": "c-weather", "category_name": "Weather question"}'),
            Scenario(text='{"city": "Sendai", "days": 3}'),
            Scenario(text="Sunny in Sendai."),
        ],
    )
    events = await run(fake, make_runtime(upstream_config(fake)), "Weather in Sendai for the next 3 days?")
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished) and finished.status == "succeeded", finished.error
    assert finished.outputs == {"forecast": "Sunny in Sendai."}
    llm_prompt = fake.requests[-1].body["messages"]
    assert llm_prompt[1] == {"role": "user", "content": "Weather in Sendai for 3 days?"}
    assert finished.total_tokens == sum(
        (e.execution_metadata or {}).get("total_tokens", 0) for e in events if isinstance(e, NodeFinished)
    )


async def test_math_branch_runs_the_builtin_tool(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text=json.dumps({"category_id": "c-math"})))
    events = await run(fake, make_runtime(upstream_config(fake)), "(2 + 3) * 7")
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished) and finished.outputs == {"result": "35"}

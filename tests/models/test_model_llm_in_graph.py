"""An llm node inside a real compiled graph run by the real engine: its text streams through End, and the usage
lands in execution_metadata and the run totals."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from fakes.openai_server import FakeOpenAI, Scenario
from model_support import upstream_config

from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.events import NodeFinished, TextChunk, WorkflowFinished
from kawa.workflow.graph import compile_graph
from kawa.workflow.runtime import NodeServices

GRAPH = {
    "nodes": [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [{"variable": "question", "label": "question", "type": "text-input", "required": True}],
            },
        },
        {
            "id": "llm",
            "data": {
                "type": "llm",
                "title": "LLM",
                "model": {
                    "provider": "langgenius/openai/openai",
                    "name": "gpt-4o-mini",
                    "mode": "chat",
                    "completion_params": {},
                },
                "prompt_template": [{"role": "user", "text": "{{#start.question#}}"}],
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "answer", "value_selector": ["llm", "text"], "value_type": "string"}],
            },
        },
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "llm", "sourceHandle": "source", "targetHandle": "target"},
        {"id": "e2", "source": "llm", "target": "end", "sourceHandle": "source", "targetHandle": "target"},
    ],
}


async def test_llm_text_streams_through_end_and_usage_reaches_the_run(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Mount Fuji is 3776 m high."))
    prices = {"gpt-4o-mini": {"input": "1", "output": "2", "unit": "0.001"}}
    runtime = make_runtime(upstream_config(fake, prices=prices))
    engine = WorkflowEngine(compile_graph(GRAPH), services=NodeServices(models=runtime))
    run = engine.run({"question": "How high is Fuji?"}, {}, {}, set(), {}, asyncio.Event())
    events = [e async for e in run]
    chunks = [e for e in events if isinstance(e, TextChunk)]
    assert "".join(c.text for c in chunks) == "Mount Fuji is 3776 m high."
    assert len(chunks) >= 6 and list(chunks[0].from_variable_selector) == ["llm", "text"]
    llm_finished = next(e for e in events if isinstance(e, NodeFinished) and e.node_id == "llm")
    assert llm_finished.status == "succeeded"
    metadata = llm_finished.execution_metadata or {}
    assert metadata["total_tokens"] == llm_finished.outputs["usage"]["total_tokens"]
    assert Decimal(str(metadata["total_price"])) == Decimal(llm_finished.outputs["usage"]["total_price"])
    assert metadata["currency"] == "USD"
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished) and finished.status == "succeeded"
    assert finished.outputs == {"answer": "Mount Fuji is 3776 m high."}
    assert finished.total_tokens == metadata["total_tokens"]


async def test_upstream_failure_fails_the_run_with_the_upstream_message(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=500, error_message="Upstream exploded."))
    engine = WorkflowEngine(compile_graph(GRAPH), services=NodeServices(models=make_runtime(upstream_config(fake))))
    events = [e async for e in engine.run({"question": "?"}, {}, {}, set(), {}, asyncio.Event())]
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished) and finished.status == "failed"
    assert "Upstream exploded." in (finished.error or "")


async def test_stopping_the_run_closes_the_upstream_stream(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text=" ".join(["token"] * 300), chunk_delay_s=0.02))
    engine = WorkflowEngine(compile_graph(GRAPH), services=NodeServices(models=make_runtime(upstream_config(fake))))
    stop = asyncio.Event()
    finished = None
    async for event in engine.run({"question": "?"}, {}, {}, set(), {}, stop):
        if isinstance(event, TextChunk):
            stop.set()
        if isinstance(event, WorkflowFinished):
            finished = event
    assert finished is not None and finished.status == "stopped"
    stream = await asyncio.to_thread(fake.wait_stream_ended, 2.0)
    assert stream.client_closed and not stream.completed

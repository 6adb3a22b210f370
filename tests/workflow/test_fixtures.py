"""Realistic DSL fixtures run end to end."""

from __future__ import annotations

from workflow_dsl import load_fixture, run_graph

from kawa.workflow.graph import compile_graph


async def test_chatflow_with_iteration_loop_and_assigner_runs_end_to_end() -> None:
    doc = load_fixture("chatflow-iteration.yml")
    conversation = {v["name"]: v["value"] for v in doc["workflow"]["conversation_variables"]}
    run = await run_graph(
        compile_graph(doc["workflow"]["graph"]), {}, system={"query": "what topics?"}, conversation=conversation
    )
    assert run.finished.status == "succeeded", run.finished.error
    expected = "Topics:\n- 1. Alpha *\n- 2. Beta\n- 3. Gamma\nRounds: 3\nAsked so far: - what topics?"
    assert run.text == expected
    assert run.node_finished("answer").outputs["answer"] == expected
    assert run.finished.conversation_variables["asked"] == ["what topics?"]
    assert run.finished.outputs == {"answer": expected}


async def test_workflow_with_parallel_branches_and_a_fail_branch_runs_end_to_end() -> None:
    doc = load_fixture("workflow-parallel-fallbacks.yml")
    compiled = compile_graph(doc["workflow"]["graph"])
    environment = {v["name"]: v["value"] for v in doc["workflow"]["environment_variables"]}
    ok = await run_graph(compiled, {"fail": "no"}, environment=environment)
    assert ok.finished.status == "succeeded"
    assert ok.finished.outputs == {"sorted": "apple, fig, kiwi", "status": "risky said fine"}
    assert ok.text == "apple, fig, kiwi\nrisky said fine"
    failed = await run_graph(compiled, {"fail": "yes"}, environment={**environment, "words": ["b", "a"]})
    assert failed.finished.status == "partial-succeeded"
    assert failed.finished.exceptions_count == 1
    assert failed.finished.outputs == {"sorted": "a, b", "status": "recovered from TemplateError"}
    assert "happy" not in failed.started_ids()

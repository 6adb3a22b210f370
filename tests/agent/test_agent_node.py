"""The agent node in a real server, against the fake upstream that really returns tool calls: each strategy
(function_calling, ReAct) with each kind of tool (built-in, a workflow published as a tool, an MCP server's tool),
plus maximum iterations, memory, and the errors a user sees."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from agent_apps import BUILTIN_TOOL, MCP_TOOL, WORKFLOW_TOOL, agent_chatflow, agent_node, agent_workflow
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.mcp_server import LoopbackMcp
from support.server import RunningServer
from support.sse import iter_events, stream_events

# kind -> (tool selector, the model's arguments, what the tool answers)
TOOL_KINDS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "builtin": (BUILTIN_TOOL, {"expression": "(3 + 4) * 2"}, "14"),
    "workflow": (WORKFLOW_TOOL, {"order_id": "A-17"}, "Order A-17 shipped on Monday."),
    "mcp": (MCP_TOOL, {"sku": "SKU-9"}, "SKU-9: 7 in stock"),
}


def _script(fake: FakeOpenAI, strategy: str, tool_name: str, arguments: dict[str, Any], answer: str) -> None:
    if strategy == "function_calling":
        first = Scenario(text="", tool_calls=[(tool_name, arguments)])
        last = Scenario(text=answer)
    else:
        first = Scenario(
            text=f"Thought: I should ask the tool.\nAction: {tool_name}\nAction Input: {json.dumps(arguments)}"
        )
        last = Scenario(text=f"Thought: I know it now.\nFinal Answer: {answer}")
    fake.on_model_in_turn("gpt-4o-mini", [first, last])


def _run(server: RunningServer, app: ImportedApp, question: str) -> list[dict[str, Any]]:
    with client_for(server, app.api_key) as client:
        response, events = stream_events(
            client, "/workflows/run", {"inputs": {"question": question}, "user": "ada", "response_mode": "streaming"}
        )
    assert response.status_code == 200, response.text
    return events


def _observation_sent(strategy: str, body: dict[str, Any]) -> str:
    """What the second model request carried back from the tool."""
    if strategy == "function_calling":
        tool_messages = [m for m in body["messages"] if m["role"] == "tool"]
        assert len(tool_messages) == 1
        return str(tool_messages[0]["content"])
    observations = [m["content"] for m in body["messages"] if str(m["content"]).startswith("Observation:")]
    assert len(observations) == 1
    return str(observations[0])


@pytest.mark.parametrize("kind", sorted(TOOL_KINDS))
@pytest.mark.parametrize("strategy", ["function_calling", "ReAct"])
def test_agent_calls_the_tool_and_answers_with_its_result(
    strategy: str,
    kind: str,
    agent_server: RunningServer,
    fake: FakeOpenAI,
    mcp_calls: LoopbackMcp,
    order_tool: ImportedApp,
) -> None:
    selector, arguments, tool_answer = TOOL_KINDS[kind]
    app = import_app(
        agent_server.settings, agent_workflow(f"Agent {strategy} {kind}", agent_node(strategy, [selector]))
    )
    _script(fake, strategy, selector["tool_name"], arguments, "Here is what I found.")

    events = _run(agent_server, app, "Please check.")

    finished = [e for e in events if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "succeeded", finished
    assert finished["outputs"]["answer"] == "Here is what I found."
    assert len(fake.requests) == 2
    first, second = fake.requests[0].body, fake.requests[1].body
    assert tool_answer in _observation_sent(strategy, second)
    if strategy == "function_calling":
        offered = [t["function"]["name"] for t in first["tools"]]
        assert offered == [selector["tool_name"]]
        assert first["messages"][0] == {"role": "system", "content": "You help the shop staff."}
        assert first["messages"][-1] == {"role": "user", "content": "Please check."}
    else:
        assert "tools" not in first
        assert selector["tool_name"] in first["messages"][0]["content"]
        assert "You help the shop staff." in first["messages"][0]["content"]
    if kind == "mcp":
        assert mcp_calls.calls == [("lookup_stock", arguments)]

    logs = [e["data"] for e in events if e["event"] == "agent_log"]
    labels = [log["label"] for log in logs]
    assert labels[0] == "ROUND 1" and logs[0]["status"] == "start"
    assert f"CALL {selector['tool_name']}" in labels and "ROUND 2" in labels
    call = next(log for log in logs if log["label"] == f"CALL {selector['tool_name']}")
    assert call["parent_id"] == logs[0]["id"] and tool_answer in json.dumps(call["data"]["output"])
    assert all(log["node_id"] == "agent" for log in logs)
    streamed = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
    assert "Here is what I found." in streamed

    agent_finished = next(
        e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "agent"
    )
    outputs = agent_finished["outputs"]
    assert set(outputs) >= {"text", "files", "json", "usage"} and outputs["files"] == []
    assert outputs["usage"]["total_tokens"] > 0
    if kind == "workflow":
        assert {"status": "Order A-17 shipped on Monday."} in outputs["json"]


def test_maximum_iterations_bound_the_tool_rounds_and_force_an_answer(
    agent_server: RunningServer, fake: FakeOpenAI
) -> None:
    app = import_app(
        agent_server.settings,
        agent_workflow("Agent one round", agent_node("function_calling", [BUILTIN_TOOL], iterations=1)),
    )
    # The model would call the tool forever; after one round it is offered no tools and must answer.
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [Scenario(text="", tool_calls=[("eval_expression", {"expression": "1 + 1"})]), Scenario(text="It is 2.")],
    )
    events = _run(agent_server, app, "1+1?")

    finished = [e for e in events if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "succeeded" and finished["outputs"]["answer"] == "It is 2."
    assert len(fake.requests) == 2
    assert "tools" in fake.requests[0].body and "tools" not in fake.requests[1].body


def test_react_stops_after_maximum_iterations_even_if_the_model_keeps_acting(
    agent_server: RunningServer, fake: FakeOpenAI
) -> None:
    app = import_app(
        agent_server.settings, agent_workflow("ReAct two rounds", agent_node("ReAct", [BUILTIN_TOOL], iterations=2))
    )
    fake.on_model(
        "gpt-4o-mini",
        Scenario(text='Thought: again\nAction: eval_expression\nAction Input: {"expression": "2 * 3"}'),
    )
    events = _run(agent_server, app, "Loop forever")

    finished = [e for e in events if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "succeeded"
    assert len(fake.requests) == 3  # two rounds with tools, then one that must answer
    rounds = {log["data"]["label"] for log in (e for e in events if e["event"] == "agent_log")}
    assert {"ROUND 1", "ROUND 2", "ROUND 3"} <= rounds


def test_memory_gives_the_agent_the_conversation_so_far(agent_server: RunningServer, fake: FakeOpenAI) -> None:
    node = agent_node("function_calling", [BUILTIN_TOOL], memory=True, query="{{#sys.query#}}")
    app = import_app(agent_server.settings, agent_chatflow("Agent with memory", node))
    with client_for(agent_server, app.api_key) as client:
        fake.on_model("gpt-4o-mini", Scenario(text="Nice to meet you, Ada."))
        _, events = stream_events(
            client, "/chat-messages", {"query": "I am Ada.", "inputs": {}, "user": "ada", "response_mode": "streaming"}
        )
        conversation_id = next(e["conversation_id"] for e in events if e.get("conversation_id"))
        fake.on_model("gpt-4o-mini", Scenario(text="You are Ada."))
        _, events = stream_events(
            client,
            "/chat-messages",
            {
                "query": "Who am I?",
                "inputs": {},
                "user": "ada",
                "conversation_id": conversation_id,
                "response_mode": "streaming",
            },
        )
    assert [e for e in events if e["event"] == "message_end"]
    assert any(e["event"] == "agent_log" and e["data"]["label"] == "ROUND 1" for e in events)
    sent = fake.requests[-1].body["messages"]
    assert sent == [
        {"role": "system", "content": "You help the shop staff."},
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "Who am I?"},
    ]


def test_a_tool_kawa_cannot_find_fails_the_node_with_a_clear_error(
    agent_server: RunningServer, fake: FakeOpenAI
) -> None:
    missing = {**MCP_TOOL, "provider_name": "no-such-server"}
    app = import_app(
        agent_server.settings, agent_workflow("Agent missing tool", agent_node("function_calling", [missing]))
    )
    events = _run(agent_server, app, "Hi")
    finished = [e for e in events if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "failed"
    assert finished["error"] == "Tool lookup_stock of provider no-such-server (mcp) is not available."
    assert fake.requests == []


def test_an_unknown_agent_strategy_fails_the_node_and_names_what_runs(agent_server: RunningServer) -> None:
    node = agent_node("function_calling", [])
    node["data"]["agent_strategy_provider_name"] = "junjiem/mcp_see_agent/mcp_sse_agent"
    node["data"]["agent_strategy_name"] = "mcp_sse_function_calling"
    app = import_app(agent_server.settings, agent_workflow("Agent other strategy", node))
    finished = [e for e in _run(agent_server, app, "Hi") if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "failed"
    assert "mcp_sse_function_calling" in finished["error"] and "function_calling and ReAct" in finished["error"]


def test_a_failing_mcp_tool_comes_back_to_the_model_as_an_observation(
    agent_server: RunningServer, fake: FakeOpenAI, mcp_calls: LoopbackMcp
) -> None:
    broken = {**MCP_TOOL, "provider_name": "warehouse-id-in-dify", "tool_name": "broken", "parameters": {}}
    app = import_app(
        agent_server.settings, agent_workflow("Agent broken tool", agent_node("function_calling", [broken]))
    )
    fake.on_model_in_turn(
        "gpt-4o-mini", [Scenario(text="", tool_calls=[("broken", {"reason": "test"})]), Scenario(text="Sorry.")]
    )
    events = _run(agent_server, app, "Try it")
    finished = [e for e in events if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "succeeded" and finished["outputs"]["answer"] == "Sorry."
    assert mcp_calls.calls == [("broken", {"reason": "test"})]
    assert "the warehouse is closed" in _observation_sent("function_calling", fake.requests[1].body)


def test_files_the_agent_s_tools_make_are_kept_and_returned_with_working_urls(
    agent_server: RunningServer, fake: FakeOpenAI
) -> None:
    exporter = {
        **BUILTIN_TOOL,
        "provider_name": "bowenliang123/md_exporter/md_exporter",
        "tool_name": "md_to_docx",
        "tool_label": "Markdown to Docx",
        "parameters": {"md_text": {"auto": 1, "value": None}},
    }
    app = import_app(
        agent_server.settings, agent_workflow("Agent exporter", agent_node("function_calling", [exporter]))
    )
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [Scenario(text="", tool_calls=[("md_to_docx", {"md_text": "# Report\n\nAll good."})]), Scenario(text="Done.")],
    )
    events = _run(agent_server, app, "Write the report")

    agent_finished = next(
        e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "agent"
    )
    files = agent_finished["outputs"]["files"]
    assert len(files) == 1 and files[0]["extension"] == ".docx"
    download = httpx.get(files[0]["url"])
    assert download.status_code == 200 and download.content[:2] == b"PK"  # a docx is a zip


def test_stop_ends_a_running_agent_at_once_and_records_it_stopped(
    agent_server: RunningServer, fake: FakeOpenAI
) -> None:
    app = import_app(agent_server.settings, agent_workflow("Agent to stop", agent_node("ReAct", [BUILTIN_TOOL])))
    fake.on_model("gpt-4o-mini", Scenario(text="Thought: " + "thinking " * 200, chunk_delay_s=0.05))
    body = {"inputs": {"question": "Think long"}, "user": "ada", "response_mode": "streaming"}
    with client_for(agent_server, app.api_key) as client, client.stream("POST", "/workflows/run", json=body) as stream:
        events = iter_events(stream)
        task_id = next(e["task_id"] for e in events if e["event"] == "workflow_started")
        next(e for e in events if e["event"] == "agent_log")  # the agent is in its first round
        started = time.monotonic()
        assert client.post(f"/workflows/tasks/{task_id}/stop", json={"user": "ada"}).json() == {"result": "success"}
        elapsed = time.monotonic() - started
        rest = list(events)
    finished = [e for e in rest if e["event"] == "workflow_finished"][-1]["data"]
    assert finished["status"] == "stopped"
    agent = [e["data"] for e in rest if e["event"] == "node_finished" and e["data"]["node_id"] == "agent"]
    assert agent and agent[0]["status"] == "stopped"
    print(f"agent node stop → stop answered (run ended): {elapsed * 1000:.0f} ms")
    assert elapsed < 0.5, elapsed  # stop answers once the run has really ended
    assert fake.wait_stream_ended().client_closed  # the upstream stream was closed, not left running

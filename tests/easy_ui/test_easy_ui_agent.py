"""Agent-chat apps: function calling with kawa's built-in time and math tools, and the ReAct strategy."""

from __future__ import annotations

import json
import re

from easy_ui_support import deltas, finished, fixture_config, make_request, run
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.apps.modes.easy_ui import AgentThought, HistoryTurn
from kawa.apps.modes.easy_ui.config import app_settings_of


def thoughts(events) -> list[AgentThought]:
    return [e for e in events if isinstance(e, AgentThought)]


def agent_config(**agent_mode) -> dict:
    config = fixture_config("agent-tools.yml")
    config["agent_mode"].update(agent_mode)
    return config


async def test_function_calling_runs_the_tools_and_streams_the_final_answer(fake: FakeOpenAI, models) -> None:
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [
            Scenario(text="", tool_calls=[("eval_expression", {"expression": "(3 + 4) * 2"}), ("current_time", {})]),
            Scenario(text="The result is 14."),
        ],
    )
    events = await run(make_request(agent_config(), "What is (3+4)*2, and what time is it?", mode="agent-chat"), models)

    assert deltas(events) == ["The", " result", " is", " 14."]
    result = finished(events)
    assert result.answer == "The result is 14."
    first, second = fake.requests[0].body, fake.requests[1].body
    assert result.usage.total_tokens > 0 and len(fake.requests) == 2

    tools = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    assert set(tools) == {"current_time", "eval_expression"}
    assert tools["current_time"]["properties"] == {}  # format and timezone are fixed by the app
    assert tools["eval_expression"]["required"] == ["expression"]
    assert first["messages"][0] == {
        "role": "system",
        "content": "Use the tools when a question needs the time or arithmetic.",
    }

    steps = thoughts(events)
    one = [t for t in steps if t.position == 1]
    assert one[0].tool == "" and one[0].thought == ""  # created
    assert one[1].tool == "eval_expression;current_time"
    assert json.loads(one[1].tool_input) == {"eval_expression": {"expression": "(3 + 4) * 2"}, "current_time": {}}
    assert one[1].tool_labels["eval_expression"] == {"en_US": "Evaluate expression", "zh_Hans": "Evaluate expression"}
    observation = json.loads(one[-1].observation)
    assert observation["eval_expression"] == "14"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", observation["current_time"])
    assert len({t.id for t in one}) == 1
    two = [t for t in steps if t.position == 2]
    assert two[-1].thought == "The result is 14." and two[-1].tool == ""

    wire = second["messages"]
    assert wire[-3]["tool_calls"][0]["function"]["name"] == "eval_expression"
    assert wire[-2] == {"role": "tool", "content": "14", "tool_call_id": "call_0"}
    assert wire[-1]["role"] == "tool" and wire[-1]["tool_call_id"] == "call_1"


async def test_the_agent_stops_offering_tools_after_max_iteration(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="", tool_calls=[("eval_expression", {"expression": "1+1"})]))
    events = await run(make_request(agent_config(max_iteration=2), "loop forever", mode="agent-chat"), models)
    assert len(fake.requests) == 3
    assert ["tools" in r.body for r in fake.requests] == [True, True, False]
    assert max(t.position for t in thoughts(events)) == 3
    assert finished(events).answer == ""


async def test_a_call_to_a_tool_the_app_lacks_is_answered_with_an_observation(fake: FakeOpenAI, models) -> None:
    config = agent_config(
        tools=[
            *fixture_config("agent-tools.yml")["agent_mode"]["tools"],
            {
                "enabled": True,
                "provider_id": "google",
                "provider_name": "google",
                "provider_type": "builtin",
                "tool_name": "google_search",
                "tool_label": "Search",
                "tool_parameters": {},
            },
        ]
    )
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [Scenario(text="", tool_calls=[("google_search", {"query": "news"})]), Scenario(text="No search here.")],
    )
    events = await run(make_request(config, "news?", mode="agent-chat"), models)
    assert {t["function"]["name"] for t in fake.requests[0].body["tools"]} == {"current_time", "eval_expression"}
    assert json.loads(thoughts(events)[2].observation) == {"google_search": "there is no tool named google_search"}
    assert finished(events).answer == "No search here."


async def test_react_runs_the_action_and_streams_the_final_answer(fake: FakeOpenAI, models) -> None:
    fake.on_model_in_turn(
        "gpt-4o-mini",
        [
            Scenario(
                text='Thought: I need to compute.\nAction: eval_expression\nAction Input: {"expression": "6 * 7"}'
            ),
            Scenario(text="Thought: I can answer now\nFinal Answer: The result is 42."),
        ],
    )
    history = [HistoryTurn("hi", "hello")]
    events = await run(
        make_request(agent_config(strategy="react"), "6 times 7?", mode="agent-chat", history=history), models
    )

    assert "".join(deltas(events)) == "The result is 42."
    assert finished(events).answer == "The result is 42."
    first, second = fake.requests[0].body, fake.requests[1].body
    assert "tools" not in first and "Observation:" in first["stop"]
    system = first["messages"][0]["content"]
    assert system.startswith("Use the tools when a question needs the time or arithmetic.")
    assert "eval_expression" in system and "Final Answer:" in system
    assert [m["content"] for m in first["messages"][1:]] == ["hi", "hello", "6 times 7?"]
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": 'Thought: I need to compute.\nAction: eval_expression\nAction Input: {"expression": "6 * 7"}',
    }
    assert second["messages"][-1] == {"role": "user", "content": "Observation: 42"}

    step_one = [t for t in thoughts(events) if t.position == 1]
    assert step_one[-1].thought == "I need to compute."
    assert step_one[-1].tool == "eval_expression"
    assert json.loads(step_one[-1].tool_input) == {"eval_expression": {"expression": "6 * 7"}}
    assert json.loads(step_one[-1].observation) == {"eval_expression": "42"}
    assert [t for t in thoughts(events) if t.position == 2][-1].thought == "I can answer now"


async def test_react_takes_a_turn_without_markers_as_the_answer(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Just an answer."))
    events = await run(make_request(agent_config(strategy="react"), "hi", mode="agent-chat"), models)
    assert "".join(deltas(events)) == "Just an answer."
    assert finished(events).answer == "Just an answer."
    assert len(fake.requests) == 1


def test_max_iteration_defaults_to_10_and_is_capped_at_99() -> None:
    assert app_settings_of("agent-chat", agent_config(max_iteration=None)).agent.max_iteration == 10  # type: ignore[union-attr]
    assert app_settings_of("agent-chat", agent_config(max_iteration=500)).agent.max_iteration == 99  # type: ignore[union-attr]
    assert app_settings_of("chat", agent_config()).agent is None


async def test_stopping_an_agent_mid_answer_keeps_the_partial_answer(fake: FakeOpenAI, models) -> None:
    import asyncio

    from kawa.apps.modes.easy_ui import run_pipeline

    fake.on_model_in_turn(
        "gpt-4o-mini",
        [
            Scenario(text="", tool_calls=[("eval_expression", {"expression": "2*3"})]),
            Scenario(text="It is six and that is final.", chunk_delay_s=0.2),
        ],
    )
    stop = asyncio.Event()
    events = []
    async for event in run_pipeline(
        make_request(agent_config(), "2*3?", mode="agent-chat"), models=models, retriever=None, stop=stop
    ):
        events.append(event)
        if deltas(events) == ["It", " is"]:
            stop.set()
    result = finished(events)
    assert (result.answer, result.finish_reason) == ("It is", "stopped")
    assert result.usage.total_tokens > 0


async def test_agent_prompt_carries_the_dataset_context(fake: FakeOpenAI, models) -> None:
    from kawa.apps.modes.easy_ui import RetrievedSegment

    async def retriever(dataset_ids, query, config):
        return [RetrievedSegment(1, "d", "D", "doc", "doc.md", "s", 0.5, "Office opens at 9.")]

    config = agent_config()
    config["dataset_configs"] = {"datasets": {"datasets": [{"dataset": {"enabled": True, "id": "d"}}]}}
    await run(make_request(config, "When do you open?", mode="agent-chat"), models, retriever=retriever)
    system = fake.requests[0].body["messages"][0]["content"]
    assert "<context>\nOffice opens at 9.\n</context>" in system
    assert system.endswith("Use the tools when a question needs the time or arithmetic.")


async def test_react_uses_the_apps_own_first_prompt(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Final Answer: ok"))
    config = agent_config(strategy="react", prompt={"first_prompt": "Rules: {{instruction}} | {{tool_names}}"})
    events = await run(make_request(config, "hi", mode="agent-chat"), models)
    assert fake.requests[0].body["messages"][0]["content"] == (
        "Rules: Use the tools when a question needs the time or arithmetic. | current_time, eval_expression"
    )
    assert finished(events).answer == "ok"

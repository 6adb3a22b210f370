"""Parsing the model's ReAct turns: Thought / Action / Action Input / Final Answer, and JSON actions."""

from __future__ import annotations

from kawa.apps.modes.easy_ui.react import ReactStep, parse_react


def test_action_with_a_json_action_input() -> None:
    step = parse_react('Thought: need time\nAction: current_time\nAction Input: {"timezone": "Asia/Tokyo"}')
    assert step == ReactStep(thought="need time", action="current_time", action_input={"timezone": "Asia/Tokyo"})


def test_action_input_in_a_code_block_and_a_quoted_tool_name() -> None:
    step = parse_react('Thought: t\nAction: "eval_expression"\nAction Input: ```json\n{"expression": "2+2"}\n```')
    assert (step.action, step.action_input) == ("eval_expression", {"expression": "2+2"})


def test_plain_text_action_input_is_kept_as_text() -> None:
    step = parse_react("Thought: t\nAction: eval_expression\nAction Input: 2+2")
    assert (step.action, step.action_input) == ("eval_expression", "2+2")


def test_final_answer() -> None:
    assert parse_react("Thought: done\nFinal Answer: It is 42.\nThanks") == ReactStep(
        thought="done", final_answer="It is 42.\nThanks"
    )


def test_json_action_as_difys_prompts_ask_for_it() -> None:
    text = 'Thought: use math\nAction:\n```\n{"action": "eval_expression", "action_input": {"expression": "1+1"}}\n```'
    step = parse_react(text)
    assert (step.thought, step.action, step.action_input) == ("use math", "eval_expression", {"expression": "1+1"})


def test_json_final_answer_action() -> None:
    step = parse_react('Action: {"action": "Final Answer", "action_input": "Bonjour"}')
    assert (step.action, step.final_answer) == (None, "Bonjour")


def test_an_imagined_observation_is_ignored() -> None:
    step = parse_react(
        'Thought: t\nAction: eval_expression\nAction Input: {"expression": "1"}\nObservation: 99\nFinal Answer: 99'
    )
    assert (step.action, step.action_input, step.final_answer) == ("eval_expression", {"expression": "1"}, None)


def test_text_without_markers_is_the_answer() -> None:
    assert parse_react("Thought: Paris is the capital.") == ReactStep(
        thought="Paris is the capital.", final_answer="Paris is the capital."
    )

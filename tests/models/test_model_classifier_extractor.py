"""question-classifier and parameter-extractor nodes against the fake upstream."""

from __future__ import annotations

import json

from fakes.openai_server import FakeOpenAI, Scenario
from model_support import upstream_config
from nodes_support import run_node

from kawa.workflow.nodes.parameter_extractor import TOOL_NAME, ParameterExtractorNode
from kawa.workflow.nodes.question_classifier import QuestionClassifierNode

MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
CLASSES = [{"id": "c-billing", "name": "Billing"}, {"id": "c-tech", "name": "Technical problem"}]


def classifier(**overrides: object) -> dict:
    data = {
        "type": "question-classifier",
        "query_variable_selector": ["sys", "query"],
        "model": MODEL,
        "classes": CLASSES,
        "instruction": "Be strict.",
    }
    data.update(overrides)
    return data


async def test_classifier_routes_to_the_class_the_model_names(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text='{"category_id": "c-tech", "category_name": "Technical problem"}'))
    run = await run_node(
        QuestionClassifierNode,
        classifier(),
        make_runtime(upstream_config(fake)),
        system={"query": "The app crashes on start"},
    )
    assert run.result.edge_source_handle == "c-tech"
    assert run.result.outputs["class_name"] == "Technical problem"
    assert run.result.outputs["class_id"] == "c-tech"
    assert run.result.outputs["usage"]["total_tokens"] > 0
    system = fake.requests[-1].body["messages"][0]["content"]
    assert "c-billing" in system and "Be strict." in system
    assert fake.requests[-1].body["messages"][-1] == {"role": "user", "content": "The app crashes on start"}


async def test_classifier_accepts_a_bare_class_name(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="This is about billing."))
    run = await run_node(
        QuestionClassifierNode,
        classifier(),
        make_runtime(upstream_config(fake)),
        system={"query": "Why was I charged twice?"},
    )
    assert run.result.edge_source_handle == "c-billing"


async def test_classifier_falls_back_to_the_first_class(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="No idea."))
    run = await run_node(
        QuestionClassifierNode, classifier(), make_runtime(upstream_config(fake)), system={"query": "?"}
    )
    assert run.result.outputs["class_id"] == "c-billing"


PARAMETERS = [
    {"name": "city", "type": "string", "description": "City", "required": True},
    {"name": "nights", "type": "number", "required": False},
    {"name": "breakfast", "type": "bool"},
    {"name": "room", "type": "select", "options": ["single", "double"]},
    {"name": "guests", "type": "array[string]"},
]


def extractor(**overrides: object) -> dict:
    data = {
        "type": "parameter-extractor",
        "model": MODEL,
        "query": ["sys", "query"],
        "parameters": PARAMETERS,
        "reasoning_mode": "function_call",
        "instruction": "",
    }
    data.update(overrides)
    return data


async def test_extractor_forces_a_tool_call_and_types_the_values(fake: FakeOpenAI, make_runtime) -> None:
    args = {"city": "Nara", "nights": "3", "breakfast": "yes", "room": "double", "guests": ["Ann", "Bo"]}
    fake.on_model("gpt-4o-mini", Scenario(text="", tool_calls=[(TOOL_NAME, args)]))
    run = await run_node(
        ParameterExtractorNode,
        extractor(),
        make_runtime(upstream_config(fake)),
        system={"query": "Double room in Nara for 3 nights with breakfast, for Ann and Bo"},
    )
    out = run.result.outputs
    assert (out["city"], out["nights"], out["breakfast"], out["room"], out["guests"]) == (
        "Nara",
        3,
        True,
        "double",
        ["Ann", "Bo"],
    )
    assert (out["__is_success"], out["__reason"]) == (1, None)
    sent = fake.requests[-1].body
    assert sent["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
    schema = sent["tools"][0]["function"]["parameters"]
    assert schema["required"] == ["city"] and schema["properties"]["room"]["enum"] == ["single", "double"]


async def test_extractor_prompt_mode_parses_json_text(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text='```json\n{"city": "Kobe", "nights": 2}\n```'))
    run = await run_node(
        ParameterExtractorNode,
        extractor(reasoning_mode="prompt"),
        make_runtime(upstream_config(fake)),
        system={"query": "Kobe, two nights"},
    )
    out = run.result.outputs
    assert (out["city"], out["nights"], out["breakfast"], out["guests"]) == ("Kobe", 2, False, [])
    assert out["__is_success"] == 1
    assert "tools" not in fake.requests[-1].body


async def test_extractor_reports_a_missing_required_parameter(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="", tool_calls=[(TOOL_NAME, {"nights": 1})]))
    run = await run_node(
        ParameterExtractorNode, extractor(), make_runtime(upstream_config(fake)), system={"query": "one night"}
    )
    out = run.result.outputs
    assert out["__is_success"] == 0 and "city" in out["__reason"]
    assert out["city"] == "" and out["nights"] == 1
    assert json.loads(json.dumps(out["__usage"]))["total_tokens"] > 0

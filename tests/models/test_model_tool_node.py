"""The tool node with kawa's built-in tools (Dify's `time` and `math` providers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nodes_support import run_node

from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings
from kawa.workflow.nodes.tool import ToolFailed, ToolNode, ToolUnavailable


@pytest.fixture
async def runtime():
    rt = ModelRuntime(ModelsSettings.model_validate({"embedded": {"enabled": False}}))
    yield rt
    await rt.aclose()


def tool(provider: str, name: str, parameters: dict, configurations: dict | None = None) -> dict:
    return {
        "type": "tool",
        "title": name,
        "provider_id": provider,
        "provider_type": "builtin",
        "provider_name": provider,
        "tool_name": name,
        "tool_parameters": parameters,
        "tool_configurations": configurations or {},
    }


async def test_math_tool_evaluates_an_expression_from_a_template(runtime) -> None:
    data = tool("math", "eval_expression", {"expression": {"type": "mixed", "value": "({{#start.n#}} + 4) * 2 ^ 3"}})
    run = await run_node(ToolNode, data, runtime, outputs={"start": {"n": 3}})
    assert run.result.outputs["text"] == "56"
    assert run.result.outputs["json"] == [{"expression": "(3 + 4) * 2 ** 3", "result": 56}]
    assert run.result.outputs["files"] == []


async def test_math_tool_refuses_python(runtime) -> None:
    data = tool("math", "eval_expression", {"expression": {"type": "constant", "value": "__import__('os')"}})
    with pytest.raises(ToolFailed):
        await run_node(ToolNode, data, runtime)


async def test_time_tool_reads_its_configuration(runtime) -> None:
    data = tool("langgenius/time/time", "current_time", {}, {"format": "%Y", "timezone": "Asia/Tokyo"})
    run = await run_node(ToolNode, data, runtime)
    assert run.result.outputs["text"] in {str(datetime.now(UTC).year), str(datetime.now(UTC).year + 1)}


async def test_weekday_tool_takes_variables(runtime) -> None:
    data = tool(
        "time",
        "weekday",
        {
            "year": {"type": "variable", "value": ["start", "y"]},
            "month": {"type": "constant", "value": 1},
            "day": {"type": "constant", "value": 1},
        },
    )
    run = await run_node(ToolNode, data, runtime, outputs={"start": {"y": 2024}})
    assert run.result.outputs["text"] == "January 1, 2024 is Monday."


async def test_unknown_tool_fails_clearly(runtime) -> None:
    with pytest.raises(ToolUnavailable, match="google_search"):
        await run_node(ToolNode, tool("google", "google_search", {}), runtime)

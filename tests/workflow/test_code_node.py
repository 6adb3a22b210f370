"""The code node in a running workflow: a real sandbox, declared outputs checked, failures typed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from workflow_dsl import chain, compile_test_graph, end, graph, node, run_graph, start

from kawa.errors import DslError
from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings
from kawa.workflow.runtime import NodeServices


@pytest.fixture(scope="module")
async def services() -> AsyncIterator[NodeServices]:
    async with CodeSandbox(SandboxSettings(python_workers=1, javascript_workers=1, timeout_s=5)) as sandbox:
        yield NodeServices(code_runner=sandbox)


def code(language: str, source: str, outputs: dict[str, str], **variables: list[str]) -> dict[str, object]:
    return node(
        "code",
        "code",
        code_language=language,
        code=source,
        variables=[{"variable": k, "value_selector": v} for k, v in variables.items()],
        outputs={name: {"type": kind, "children": None} for name, kind in outputs.items()},
    )


async def test_python_code_node_outputs_feed_the_end_node(services: NodeServices) -> None:
    source = "def main(x: str) -> dict:\n    return {'upper': x.upper(), 'length': len(x)}\n"
    spec = graph(
        [
            start("x"),
            code("python3", source, {"upper": "string", "length": "number"}, x=["start", "x"]),
            end(upper=["code", "upper"], length=["code", "length"]),
        ],
        chain("start", "code", "end"),
    )
    run = await run_graph(spec, {"x": "kawa"}, services=services)
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"upper": "KAWA", "length": 4}
    assert run.node_finished("code").inputs == {"x": "kawa"}


async def test_javascript_code_node_runs_difys_function_main_style(services: NodeServices) -> None:
    source = "function main({items}) {\n  return { total: items.reduce((a, b) => a + b, 0) };\n}\n"
    spec = graph(
        [
            start(),
            code("javascript", source, {"total": "number"}, items=["sys", "numbers"]),
            end(total=["code", "total"]),
        ],
        chain("start", "code", "end"),
    )
    run = await run_graph(spec, system={"numbers": [1, 2, 3.5]}, services=services)
    assert run.finished.outputs == {"total": 6.5}


async def test_output_of_the_wrong_type_fails_the_node_naming_it(services: NodeServices) -> None:
    spec = graph(
        [start(), code("python3", "def main():\n    return {'n': 'seven'}\n", {"n": "number"}), end()],
        chain("start", "code", "end"),
    )
    run = await run_graph(spec, services=services)
    finished = run.node_finished("code")
    assert finished.status == "failed"
    assert finished.error == "Output n is not a number, got str instead."
    assert run.finished.status == "failed"


async def test_user_exception_fails_the_node_and_default_value_recovers(services: NodeServices) -> None:
    failing = code("python3", "def main():\n    return {'r': 1 / 0}\n", {"r": "number"})
    failing["data"].update(
        error_strategy="default-value",  # type: ignore[union-attr]
        default_value=[{"key": "r", "type": "number", "value": "0"}],
    )
    spec = graph([start(), failing, end(r=["code", "r"], t=["code", "error_type"])], chain("start", "code", "end"))
    run = await run_graph(spec, services=services)
    finished = run.node_finished("code")
    assert finished.status == "exception"
    assert finished.error is not None and "ZeroDivisionError: division by zero" in finished.error
    assert run.finished.outputs == {"r": 0, "t": "CodeExecutionError"}


async def test_timeout_fails_the_node_with_a_clear_error(services: NodeServices) -> None:
    sandbox = services.code_runner
    assert isinstance(sandbox, CodeSandbox)
    spec = graph(
        [start(), code("python3", "def main():\n    while True:\n        pass\n", {}), end()],
        chain("start", "code", "end"),
    )
    sandbox.config.timeout_s = 1
    try:
        run = await run_graph(spec, services=services)
    finally:
        sandbox.config.timeout_s = 5
    assert run.node_finished("code").error == "Code execution timed out after 1 s."


def test_unknown_output_type_is_a_compile_error() -> None:
    spec = graph(
        [start(), code("python3", "def main():\n    return {}\n", {"f": "file"}), end()], chain("start", "code", "end")
    )
    with pytest.raises(DslError, match=r"outputs\.f\.type"):
        compile_test_graph(spec)

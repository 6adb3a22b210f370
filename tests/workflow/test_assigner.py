"""The variable-assigner node (v1 and v2): every operation, and the conversation values a run ends with."""

from __future__ import annotations

from typing import Any

import pytest
from workflow_dsl import chain, graph, node, run_graph, start

from kawa.workflow.events import NodeFinished


def assign_graph(*items: dict[str, Any]) -> dict[str, Any]:
    return graph(
        [start("x"), node("set", "assigner", version="2", items=list(items)), node("answer", "answer", answer="done")],
        chain("start", "set", "answer"),
    )


def item(name: str, operation: str, value: Any = None, input_type: str = "constant") -> dict[str, Any]:
    return {
        "variable_selector": ["conversation", name],
        "input_type": input_type,
        "operation": operation,
        "value": value,
    }


@pytest.mark.parametrize(
    ("before", "operation", "value", "after"),
    [
        ("old", "over-write", "new", "new"),
        ("old", "set", "new", "new"),
        ("old", "clear", None, ""),
        (5, "clear", None, 0),
        ({"a": 1}, "clear", None, {}),
        ([1, 2], "clear", None, []),
        (True, "clear", None, False),
        (["a"], "append", "b", ["a", "b"]),
        (["a"], "extend", ["b", "c"], ["a", "b", "c"]),
        (["a", "b", "c"], "remove-first", None, ["b", "c"]),
        (["a", "b", "c"], "remove-last", None, ["a", "b"]),
        ([], "remove-first", None, []),
        (10, "+=", 5, 15),
        (10, "-=", 4, 6),
        (10, "*=", 3, 30),
        (10, "/=", 4, 2.5),
        (1.5, "+=", 1, 2.5),
    ],
)
async def test_v2_operation(before: Any, operation: str, value: Any, after: Any) -> None:
    run = await run_graph(assign_graph(item("v", operation, value)), conversation={"v": before})
    assert run.finished.status == "succeeded", run.finished.error
    assert run.finished.conversation_variables == {"v": after}


@pytest.mark.parametrize(
    ("before", "operation", "value"),
    [
        (10, "/=", 0),
        ("text", "+=", 1),
        ("text", "append", "x"),
        ([1], "+=", 1),
        (10, "over-write", "a string"),
    ],
)
async def test_v2_operation_on_the_wrong_type_fails(before: Any, operation: str, value: Any) -> None:
    run = await run_graph(assign_graph(item("v", operation, value)), conversation={"v": before})
    assert run.finished.status == "failed"
    assert run.finished.conversation_variables == {"v": before}


async def test_v2_value_from_a_variable() -> None:
    run = await run_graph(
        assign_graph(item("v", "over-write", ["start", "x"], input_type="variable")),
        {"x": "from input"},
        conversation={"v": ""},
    )
    assert run.finished.conversation_variables == {"v": "from input"}


async def test_v2_applies_items_in_order() -> None:
    run = await run_graph(
        assign_graph(item("n", "+=", 2), item("n", "*=", 10), item("s", "set", "ok")), conversation={"n": 1, "s": ""}
    )
    assert run.finished.conversation_variables == {"n": 30, "s": "ok"}


async def test_assigning_an_unknown_conversation_variable_fails() -> None:
    run = await run_graph(assign_graph(item("ghost", "set", "x")), conversation={})
    assert run.finished.status == "failed"
    assert "conversation.ghost" in (run.finished.error or "")


async def test_v1_over_write_append_and_clear() -> None:
    def v1(mode: str) -> dict[str, Any]:
        return graph(
            [
                start("x"),
                node(
                    "set",
                    "assigner",
                    assigned_variable_selector=["conversation", "v"],
                    write_mode=mode,
                    input_variable_selector=["start", "x"],
                ),
                node("answer", "answer", answer="ok"),
            ],
            chain("start", "set", "answer"),
        )

    assert (
        await run_graph(v1("over-write"), {"x": "new"}, conversation={"v": "old"})
    ).finished.conversation_variables == {"v": "new"}
    assert (await run_graph(v1("append"), {"x": "b"}, conversation={"v": ["a"]})).finished.conversation_variables == {
        "v": ["a", "b"]
    }
    assert (await run_graph(v1("clear"), {"x": "b"}, conversation={"v": ["a"]})).finished.conversation_variables == {
        "v": []
    }


async def test_the_callers_conversation_dict_is_not_mutated() -> None:
    conversation = {"v": ["a"]}
    await run_graph(assign_graph(item("v", "append", "b")), conversation=conversation)
    assert conversation == {"v": ["a"]}


async def test_later_writes_do_not_change_earlier_event_payloads() -> None:
    spec = graph(
        [
            start(),
            node("first", "assigner", version="2", items=[item("v", "append", "b")]),
            node("second", "assigner", version="2", items=[item("v", "append", "c")]),
            node("answer", "answer", answer="ok"),
        ],
        chain("start", "first", "second", "answer"),
    )
    run = await run_graph(spec, conversation={"v": ["a"]})
    first = next(e for e in run.of(NodeFinished) if e.node_id == "first")
    assert first.process_data is not None
    assert first.process_data["updated_variables"][0]["new_value"] == ["a", "b"]
    assert run.finished.conversation_variables == {"v": ["a", "b", "c"]}

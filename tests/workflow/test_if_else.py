"""The if-else node and the comparison operators it shares with loops and list-operator."""

from __future__ import annotations

from typing import Any

import pytest
from workflow_dsl import edge, graph, node, run_graph

from kawa.workflow.conditions import OPERATORS, ConditionError, evaluate

FILE_PDF = {
    "dify_model_identity": "__dify__file__",
    "type": "document",
    "filename": "a.pdf",
    "extension": ".pdf",
    "mime_type": "application/pdf",
    "size": 10,
    "transfer_method": "local_file",
    "url": "u1",
}
FILE_PNG = {
    "dify_model_identity": "__dify__file__",
    "type": "image",
    "filename": "b.png",
    "extension": ".png",
    "mime_type": "image/png",
    "size": 2000,
    "transfer_method": "remote_url",
    "remote_url": "u2",
}

TABLE: list[tuple[str, Any, Any, bool]] = [
    # strings
    ("contains", "hello world", "lo w", True),
    ("contains", "hello", "x", False),
    ("contains", "", "x", False),
    ("contains", None, "x", False),
    ("not contains", "hello", "x", True),
    ("not contains", "hello", "ell", False),
    ("not contains", None, "x", True),
    ("start with", "hello", "he", True),
    ("start with", "hello", "lo", False),
    ("start with", "", "x", False),
    ("end with", "hello", "lo", True),
    ("end with", "hello", "he", False),
    ("is", "abc", "abc", True),
    ("is", "abc", "abd", False),
    ("is", None, "abc", False),
    ("is not", "abc", "abd", True),
    ("is not", "abc", "abc", False),
    ("is not", None, "abc", False),
    ("empty", "", None, True),
    ("empty", "x", None, False),
    ("empty", None, None, True),
    ("not empty", "x", None, True),
    ("not empty", "", None, False),
    ("in", "b", ["a", "b"], True),
    ("in", "c", ["a", "b"], False),
    ("in", "", ["a"], False),
    ("not in", "c", ["a", "b"], True),
    ("not in", "a", ["a", "b"], False),
    # numbers (the expected value is cast to the actual value's type)
    ("=", 3, "3", True),
    ("=", 3, 4, False),
    ("=", 2.5, "2.5", True),
    ("=", None, "1", False),
    ("≠", 3, "4", True),
    ("≠", 3, "3", False),
    (">", 5, "3", True),
    (">", 3, "3", False),
    (">", 2.5, "2.4", True),
    ("<", 2, "3", True),
    ("<", 3, "3", False),
    ("≥", 3, "3", True),
    ("≥", 2, "3", False),
    ("≤", 3, "3", True),
    ("≤", 4, "3", False),
    (">", None, "3", False),
    ("=", 3, "3.0", True),
    # booleans (expected strings are JSON-parsed)
    ("is", True, "true", True),
    ("is", False, "true", False),
    ("is not", True, "false", True),
    ("=", True, "1", True),
    ("=", False, True, False),
    # arrays
    ("contains", ["a", "b"], "a", True),
    ("contains", ["a", "b"], "c", False),
    ("contains", [], "a", False),
    ("not contains", ["a"], "b", True),
    ("not contains", ["a"], "a", False),
    ("all of", ["a", "b", "c"], ["a", "c"], True),
    ("all of", ["a", "b"], ["a", "x"], False),
    ("all of", [], ["a"], False),
    ("empty", [], None, True),
    ("not empty", [1], None, True),
    # null and existence
    ("null", None, None, True),
    ("null", 0, None, False),
    ("not null", "", None, True),
    ("not null", None, None, False),
    ("exists", "x", None, True),
    ("exists", None, None, False),
    ("not exists", None, None, True),
    ("not exists", 0, None, False),
    # a single file
    ("exists", FILE_PDF, None, True),
    ("not empty", FILE_PDF, None, True),
    ("null", FILE_PDF, None, False),
]


@pytest.mark.parametrize(("operator", "value", "expected", "result"), TABLE)
def test_comparison_operator(operator: str, value: Any, expected: Any, result: bool) -> None:
    assert evaluate(operator, value, expected) is result


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("start with", 5, "5"),
        ("is", 5, "5"),
        ("=", "5", "5"),
        (">", "5", "3"),
        ("in", "a", "a"),
        ("=", 5, "five"),
        ("contains", 5, "5"),
    ],
)
def test_operator_on_the_wrong_type_is_an_error(operator: str, value: Any, expected: Any) -> None:
    with pytest.raises(ConditionError):
        evaluate(operator, value, expected)


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_every_known_operator_compares_without_an_unsupported_operator_error(operator: str) -> None:
    assert isinstance(evaluate(operator, None, []), bool)


def if_else_graph(cases: list[dict[str, Any]], **start_vars: Any) -> dict[str, Any]:
    handles = [c["case_id"] for c in cases] + ["false"]
    nodes = [node("start", "start", variables=[]), node("if", "if-else", cases=cases)]
    edges = [edge("start", "if")]
    for handle in handles:
        nodes.append(node(f"to_{handle}", "answer", answer=handle))
        edges.append(edge("if", f"to_{handle}", handle))
    return graph(nodes, edges)


def case(case_id: str, *conditions: tuple[list[str], str, Any], logical: str = "and") -> dict[str, Any]:
    return {
        "case_id": case_id,
        "logical_operator": logical,
        "conditions": [
            {"variable_selector": selector, "comparison_operator": op, "value": value}
            for selector, op, value in conditions
        ],
    }


async def branch(cases: list[dict[str, Any]], inputs: dict[str, Any]) -> str:
    run = await run_graph(if_else_graph(cases), inputs)
    assert run.finished.status == "succeeded", run.finished.error
    return run.text


async def test_the_first_true_case_wins() -> None:
    cases = [case("small", (["start", "n"], "<", "10")), case("medium", (["start", "n"], "<", "100"))]
    assert await branch(cases, {"n": 5}) == "small"
    assert await branch(cases, {"n": 50}) == "medium"
    assert await branch(cases, {"n": 500}) == "false"


async def test_and_needs_every_condition() -> None:
    cases = [case("both", (["start", "a"], "is", "x"), (["start", "b"], "is", "y"))]
    assert await branch(cases, {"a": "x", "b": "y"}) == "both"
    assert await branch(cases, {"a": "x", "b": "z"}) == "false"


async def test_or_needs_one_condition() -> None:
    cases = [case("either", (["start", "a"], "is", "x"), (["start", "b"], "is", "y"), logical="or")]
    assert await branch(cases, {"a": "no", "b": "y"}) == "either"
    assert await branch(cases, {"a": "no", "b": "no"}) == "false"


async def test_conditions_short_circuit() -> None:
    # The second condition would raise (string compared with >), but "or" stops at the first true one.
    cases = [case("ok", (["start", "a"], "is", "x"), (["start", "a"], ">", "3"), logical="or")]
    assert await branch(cases, {"a": "x"}) == "ok"


async def test_expected_value_may_reference_variables() -> None:
    cases = [case("same", (["start", "a"], "is", "{{#start.b#}}"))]
    assert await branch(cases, {"a": "v", "b": "v"}) == "same"
    assert await branch(cases, {"a": "v", "b": "w"}) == "false"


async def test_missing_variable_compares_as_null() -> None:
    cases = [case("absent", (["start", "nope"], "not exists", None))]
    assert await branch(cases, {}) == "absent"


async def test_outputs_and_process_data_name_the_selected_case() -> None:
    run = await run_graph(if_else_graph([case("hit", (["start", "a"], "is", "x"))]), {"a": "x"})
    finished = run.node_finished("if")
    assert finished.outputs == {"result": True, "selected_case_id": "hit"}
    assert finished.process_data is not None
    assert finished.process_data["condition_results"][0]["final_result"] is True
    run = await run_graph(if_else_graph([case("hit", (["start", "a"], "is", "x"))]), {"a": "y"})
    assert run.node_finished("if").outputs == {"result": False, "selected_case_id": None}


async def test_a_type_error_in_a_condition_fails_the_node() -> None:
    run = await run_graph(if_else_graph([case("x", (["start", "a"], ">", "3"))]), {"a": "text"})
    assert run.node_finished("if").status == "failed"
    assert run.finished.status == "failed"


def file_case(case_id: str, operator: str, key: str, sub_operator: str, value: Any) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "logical_operator": "and",
        "conditions": [
            {
                "variable_selector": ["start", "files"],
                "comparison_operator": operator,
                "sub_variable_condition": {
                    "logical_operator": "and",
                    "conditions": [{"key": key, "comparison_operator": sub_operator, "value": value}],
                },
            }
        ],
    }


async def test_file_list_contains_uses_sub_conditions_on_file_attributes() -> None:
    files = [FILE_PDF, FILE_PNG]
    assert await branch([file_case("c", "contains", "extension", "is", "pdf")], {"files": files}) == "c"
    assert await branch([file_case("c", "contains", "type", "is", "video")], {"files": files}) == "false"
    assert await branch([file_case("c", "contains", "size", ">", "1000")], {"files": files}) == "c"
    # As in Dify, negation lives in the sub-operator ("not" operators must hold for every file).
    assert await branch([file_case("c", "not contains", "type", "is not", "video")], {"files": files}) == "c"
    assert await branch([file_case("c", "not contains", "type", "is not", "image")], {"files": files}) == "false"
    assert await branch([file_case("c", "contains", "name", "start with", "b")], {"files": files}) == "c"


async def test_file_list_contains_without_sub_conditions_fails() -> None:
    cases = [case("c", (["start", "files"], "contains", "x"))]
    run = await run_graph(if_else_graph(cases), {"files": [FILE_PDF]})
    assert run.node_finished("if").status == "failed"
    assert run.node_finished("if").error == "Sub variable is required"


async def test_a_file_attribute_selector_reads_the_attribute() -> None:
    cases = [case("pdf", (["start", "file", "extension"], "is", ".pdf"))]
    assert await branch(cases, {"file": FILE_PDF}) == "pdf"
    assert await branch(cases, {"file": FILE_PNG}) == "false"


async def test_object_path_selector_reads_nested_keys() -> None:
    cases = [case("deep", (["start", "obj", "a", "b"], "=", "2"))]
    assert await branch(cases, {"obj": {"a": {"b": 2}}}) == "deep"

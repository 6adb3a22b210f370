"""check_outputs: the declared outputs of a code node and Dify's limits on them."""

from __future__ import annotations

from typing import Any

import pytest

from kawa.sandbox.errors import DepthLimitError, OutputValidationError
from kawa.sandbox.outputs import check_outputs
from kawa.sandbox.settings import OutputLimits


def spec(kind: str, children: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": kind, "children": children}


def test_declared_outputs_pass_through_unchanged() -> None:
    declared = {
        "s": spec("string"),
        "n": spec("number"),
        "b": spec("boolean"),
        "o": spec("object"),
        "a": spec("array[string]"),
    }
    result = {"s": "x", "n": 1.5, "b": True, "o": {"k": [1, 2]}, "a": ["p", "q"]}
    assert check_outputs(result, declared) == result


def test_missing_declared_output_is_named() -> None:
    with pytest.raises(OutputValidationError, match=r"Output total is missing\."):
        check_outputs({"other": 1}, {"total": spec("number"), "other": spec("number")})


def test_undeclared_output_is_refused() -> None:
    with pytest.raises(OutputValidationError, match="`extra` not declared"):
        check_outputs({"a": 1, "extra": 2}, {"a": spec("number")})


def test_wrong_type_names_the_output_and_the_type() -> None:
    with pytest.raises(OutputValidationError, match=r"Output name must be a string, got int instead\."):
        check_outputs({"name": 3}, {"name": spec("string")})


def test_string_longer_than_the_limit_is_refused() -> None:
    check_outputs({"s": "x" * 400_000}, {"s": spec("string")})
    with pytest.raises(OutputValidationError, match="`s` must be less than 400000 characters"):
        check_outputs({"s": "x" * 400_001}, {"s": spec("string")})


def test_nul_characters_are_removed_from_strings() -> None:
    assert check_outputs({"s": "a\x00b"}, {"s": spec("string")}) == {"s": "ab"}


def test_numbers_beyond_64_bits_are_refused() -> None:
    check_outputs({"n": 2**63 - 1}, {"n": spec("number")})
    with pytest.raises(OutputValidationError, match="`n` is out of range"):
        check_outputs({"n": 2**63}, {"n": spec("number")})
    with pytest.raises(OutputValidationError, match="out of range"):
        check_outputs({"n": -(2**63)}, {"n": spec("number")})


def test_float_precision_is_limited() -> None:
    check_outputs({"n": 0.1234567890123}, {"n": spec("number")})
    with pytest.raises(OutputValidationError, match="too high precision"):
        check_outputs({"n": 1.5e-25}, {"n": spec("number")})


def test_scientific_notation_strings_become_numbers() -> None:
    assert check_outputs({"n": "1.5e+3", "s": "1e5"}, {"n": spec("number"), "s": spec("string")}) == {
        "n": 1500.0,
        "s": "1e5",
    }
    assert check_outputs({"deep": {"v": ["2E-2"]}}, None) == {"deep": {"v": [0.02]}}


def test_booleans_in_number_outputs_become_integers() -> None:
    assert check_outputs({"n": True, "a": [False, 2]}, {"n": spec("number"), "a": spec("array[number]")}) == {
        "n": 1,
        "a": [0, 2],
    }


def test_array_lengths_follow_difys_limits() -> None:
    check_outputs({"a": ["x"] * 30}, {"a": spec("array[string]")})
    with pytest.raises(OutputValidationError, match="`a` must be less than 30 elements"):
        check_outputs({"a": ["x"] * 31}, {"a": spec("array[string]")})
    with pytest.raises(OutputValidationError, match="less than 30 elements"):
        check_outputs({"a": [{}] * 31}, {"a": spec("array[object]")})
    check_outputs({"a": [1] * 1000}, {"a": spec("array[number]")})
    with pytest.raises(OutputValidationError, match="less than 1000 elements"):
        check_outputs({"a": [1] * 1001}, {"a": spec("array[number]")})


def test_limits_are_configurable() -> None:
    with pytest.raises(OutputValidationError, match="less than 2 elements"):
        check_outputs({"a": ["x"] * 3}, {"a": spec("array[string]")}, OutputLimits(max_string_array_length=2))


def test_nested_objects_are_checked_against_their_children() -> None:
    declared = {"items": spec("array[object]", {"name": spec("string"), "qty": spec("number")})}
    assert check_outputs({"items": [{"name": "a", "qty": 1}]}, declared) == {"items": [{"name": "a", "qty": 1}]}
    with pytest.raises(OutputValidationError, match=r"Output items\[1\]\.qty is not a number, got str"):
        check_outputs({"items": [{"name": "a", "qty": 1}, {"name": "b", "qty": "2"}]}, declared)


def test_objects_deeper_than_five_levels_are_refused() -> None:
    deep: dict[str, Any] = {"v": 1}
    for _ in range(3):
        deep = {"d": deep}
    check_outputs({"o": deep}, None)  # the result itself is level 1, so this is five levels
    with pytest.raises(DepthLimitError, match="Depth limit 5 reached"):
        check_outputs({"o": {"d": deep}}, None)


def test_array_of_booleans_refuses_other_values() -> None:
    assert check_outputs({"a": [True, None]}, {"a": spec("array[boolean]")}) == {"a": [True, None]}
    with pytest.raises(OutputValidationError, match=r"Output a\[1\] must be a boolean, got str"):
        check_outputs({"a": [True, "no"]}, {"a": spec("array[boolean]")})


def test_none_is_accepted_for_every_type() -> None:
    declared = {k: spec(k) for k in ("string", "number", "boolean", "object", "array[string]", "array[object]")}
    assert check_outputs(dict.fromkeys(declared), declared) == dict.fromkeys(declared)


def test_undeclared_result_must_have_homogeneous_arrays() -> None:
    with pytest.raises(OutputValidationError, match="make sure all elements are of the same type"):
        check_outputs({"a": [1, "x"]}, None)


def test_unknown_output_type_is_refused() -> None:
    with pytest.raises(OutputValidationError, match=r"Output type file is not supported\."):
        check_outputs({"f": {}}, {"f": spec("file")})

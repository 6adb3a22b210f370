"""`ToolCallAccumulator`: how streamed tool-call fragments become whole calls."""

from __future__ import annotations

from kawa.models.tool_calls import ToolCallAccumulator
from kawa.models.types import ToolCall, ToolCallDelta


def test_fragments_of_one_index_concatenate_into_one_call() -> None:
    calls = ToolCallAccumulator()
    calls.add([ToolCallDelta(index=0, id="call_abc", name="get_weather")])
    calls.add([ToolCallDelta(index=0, arguments='{"city":')])
    calls.add([ToolCallDelta(index=0, arguments=' "Tokyo"}')])
    assert calls.calls() == [ToolCall(id="call_abc", name="get_weather", arguments='{"city": "Tokyo"}')]


def test_calls_come_out_ordered_by_index_whatever_the_arrival_order() -> None:
    calls = ToolCallAccumulator()
    calls.add([ToolCallDelta(index=1, id="b", name="second", arguments="{}")])
    calls.add([ToolCallDelta(index=0, id="a", name="first", arguments="{}")])
    assert [c.name for c in calls.calls()] == ["first", "second"]


def test_interleaved_fragments_of_parallel_calls_stay_apart() -> None:
    calls = ToolCallAccumulator()
    calls.add([ToolCallDelta(index=0, id="a", name="f", arguments='{"x"'), ToolCallDelta(index=1, id="b", name="g")])
    calls.add([ToolCallDelta(index=1, arguments='{"y": 2}'), ToolCallDelta(index=0, arguments=": 1}")])
    assert [(c.id, c.parsed_arguments()) for c in calls.calls()] == [("a", {"x": 1}), ("b", {"y": 2})]


def test_the_first_id_and_name_given_win() -> None:
    calls = ToolCallAccumulator()
    calls.add([ToolCallDelta(index=0, arguments="{")])
    calls.add([ToolCallDelta(index=0, id="first", name="f", arguments="}")])
    calls.add([ToolCallDelta(index=0, id="later", name="g")])
    assert calls.calls() == [ToolCall(id="first", name="f", arguments="{}")]


def test_a_call_without_id_is_named_after_its_index_and_without_arguments_gets_an_empty_object() -> None:
    calls = ToolCallAccumulator()
    calls.add([ToolCallDelta(index=2, name="now")])
    assert calls.calls() == [ToolCall(id="call_2", name="now", arguments="{}")]


def test_no_fragments_no_calls() -> None:
    calls = ToolCallAccumulator()
    calls.add([])
    assert calls.calls() == [] and calls.arguments_text() == ""


def test_arguments_text_is_the_raw_text_received() -> None:
    calls = ToolCallAccumulator()
    calls.add([ToolCallDelta(index=0, name="f", arguments='{"a": 1}'), ToolCallDelta(index=1, name="g")])
    assert calls.arguments_text() == '{"a": 1}'

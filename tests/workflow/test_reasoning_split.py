"""`ReasoningSplitter`: an LLM node's streamed answer split into reasoning and text, whatever the chunk boundaries
(`reasoning_format: separated`)."""

from __future__ import annotations

import pytest

from kawa.workflow.nodes.reasoning_split import Piece, ReasoningSplitter


def split(deltas: list[str]) -> tuple[str, str, int]:
    """(text, reasoning, number of reasoning ends) after feeding `deltas`."""
    splitter = ReasoningSplitter()
    pieces: list[Piece] = []
    for delta in deltas:
        pieces += splitter.feed(delta)
    pieces += splitter.close()
    text = "".join(p.text for p in pieces if p.kind == "text")
    reasoning = "".join(p.text for p in pieces if p.kind == "reasoning")
    return text, reasoning, sum(p.kind == "reasoning_end" for p in pieces)


STREAM = "<think>\nThe user greets me.\nI greet back.\n</think>\n\nHello there!"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_any_chunking_gives_the_same_split(size: int) -> None:
    deltas = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert split(deltas) == ("Hello there!", "The user greets me.\nI greet back.", 1)


def test_text_without_reasoning_passes_through() -> None:
    assert split(["Hello ", "<b>world</b>", " 1 < 2"]) == ("Hello <b>world</b> 1 < 2", "", 0)


def test_a_tag_with_attributes_and_any_case_opens_reasoning() -> None:
    assert split(['<THINK type="x">', "hmm", "</Think>", "Done."]) == ("Done.", "hmm", 1)


def test_unclosed_reasoning_ends_when_the_stream_ends() -> None:
    assert split(["<think>", "still thinking"]) == ("", "still thinking", 1)


def test_text_before_reasoning_is_kept() -> None:
    assert split(["Sure. <think>why</think> Here it is."]) == ("Sure.  Here it is.", "why", 1)

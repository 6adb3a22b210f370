"""Chunking as Dify does it: automatic and custom rules, cleaning, overlap, parent-child mode."""

from __future__ import annotations

import itertools

import pytest

from kawa.errors import InvalidParam
from kawa.knowledge.chunking import (
    ProcessRule,
    Rules,
    Segmentation,
    chunk_document,
    clean_text,
    parse_process_rule,
    split_text,
)


def words(n: int, word: str = "word") -> str:
    return " ".join(f"{word}{i}" for i in range(n))


def custom(separator: str, max_tokens: int, overlap: int = 0, **rules: object) -> ProcessRule:
    return parse_process_rule(
        {
            "mode": "custom",
            "rules": {
                "pre_processing_rules": rules.get("pre", []),
                "segmentation": {"separator": separator, "max_tokens": max_tokens, "chunk_overlap": overlap},
            },
        },
        "text_model",
    )


def test_automatic_rules_are_difys_defaults() -> None:
    rules = ProcessRule().effective()
    assert rules.segmentation == Segmentation(separator="\n", max_tokens=500, chunk_overlap=50)
    assert {r.id: r.enabled for r in rules.pre_processing_rules} == {
        "remove_extra_spaces": True,
        "remove_urls_emails": False,
    }


def test_each_line_is_a_chunk_when_lines_are_short() -> None:
    chunks = chunk_document("first line\n\nsecond line\nthird line", ProcessRule())
    assert [c.content for c in chunks] == ["first line", "second line", "third line"]


def test_escaped_separator_from_the_ui_means_a_newline() -> None:
    rule = custom("\\n\\n", 100)
    assert [c.content for c in chunk_document("a b\nc\n\nd e", rule)] == ["a b\nc", "d e"]


def test_long_pieces_are_split_again_under_max_tokens() -> None:
    text = ". ".join(words(30, f"s{i}w") for i in range(10))
    chunks = split_text(text, Segmentation(separator="\n", max_tokens=100, chunk_overlap=0))
    assert len(chunks) > 1
    from kawa.models.pricing import estimate_tokens

    assert all(estimate_tokens(c) <= 100 for c in chunks)
    # Nothing is lost: every word of the text is in some chunk.
    assert {w for c in chunks for w in c.replace(".", " ").split()} == set(text.replace(".", " ").split())


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    text = " ".join(f"w{i:03d}" for i in range(200))
    chunks = split_text(text, Segmentation(separator="\n", max_tokens=60, chunk_overlap=20))
    assert len(chunks) > 2
    for before, after in itertools.pairwise(chunks):
        assert after.split()[0] in before.split()


def test_japanese_text_splits_on_sentence_ends() -> None:
    text = "。".join("東京タワーは三百三十三メートルの高さがあります" for _ in range(40)) + "。"
    chunks = split_text(text, Segmentation(separator="\n", max_tokens=100, chunk_overlap=0))
    assert len(chunks) > 1
    assert all(c.endswith("。") for c in chunks)


def test_remove_extra_spaces_and_urls() -> None:
    rules = Rules.model_validate(
        {
            "pre_processing_rules": [
                {"id": "remove_extra_spaces", "enabled": True},
                {"id": "remove_urls_emails", "enabled": True},
            ]
        }
    )
    text = "see   https://example.com/x and [docs](https://d.example) or mail a.b@example.org\n\n\n\nend"
    assert clean_text(text, rules) == "see and docs or mail \n\nend"


def test_parent_child_mode_splits_parents_into_children() -> None:
    rule = parse_process_rule(
        {
            "mode": "hierarchical",
            "rules": {
                "pre_processing_rules": [],
                "segmentation": {"separator": "\n\n", "max_tokens": 500},
                "parent_mode": "paragraph",
                "subchunk_segmentation": {"separator": "\n", "max_tokens": 100},
            },
        },
        "hierarchical_model",
    )
    chunks = chunk_document("a1\na2\n\nb1\nb2\nb3", rule, "hierarchical_model")
    assert [(c.content, c.children) for c in chunks] == [("a1\na2", ["a1", "a2"]), ("b1\nb2\nb3", ["b1", "b2", "b3"])]


def test_full_doc_parent_mode_keeps_one_parent() -> None:
    rule = parse_process_rule(
        {
            "mode": "hierarchical",
            "rules": {
                "segmentation": {"separator": "\n\n", "max_tokens": 500},
                "parent_mode": "full-doc",
                "subchunk_segmentation": {"separator": "\n", "max_tokens": 100},
            },
        },
        "hierarchical_model",
    )
    (chunk,) = chunk_document("a1\na2\n\nb1", rule, "hierarchical_model")
    assert chunk.children == ["a1", "a2", "b1"]


def test_custom_mode_without_rules_is_rejected() -> None:
    with pytest.raises(InvalidParam, match="rules is required"):
        parse_process_rule({"mode": "custom"}, "text_model")


def test_max_tokens_over_the_limit_is_rejected() -> None:
    with pytest.raises(InvalidParam):
        custom("\n", 5000)

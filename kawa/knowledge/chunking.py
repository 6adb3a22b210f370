"""Chunking as Dify does it: process rules (automatic / custom / hierarchical), cleaning, then a fixed separator
split whose oversized pieces are split again recursively, merged up to `max_tokens` with `chunk_overlap`.

`chunk_document(text, rule)` returns `Chunk`s; in parent-child mode each chunk carries its `children`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from kawa.errors import InvalidParam
from kawa.models.pricing import estimate_tokens

# Tried in order when a piece is longer than max_tokens after the fixed separator split.
_FALLBACK_SEPARATORS = ["\n\n", "\n", "。", ". ", "、", ", ", " ", ""]
MAX_SEGMENT_TOKENS = 4000  # Dify's INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH default


class PreProcessingRule(BaseModel):
    id: Literal["remove_extra_spaces", "remove_urls_emails", "remove_stopwords"]
    enabled: bool = False


class Segmentation(BaseModel):
    separator: str = "\n"
    max_tokens: int = Field(default=500, ge=50, le=MAX_SEGMENT_TOKENS)
    chunk_overlap: int = Field(default=50, ge=0)

    @field_validator("separator")
    @classmethod
    def _unescape(cls, value: str) -> str:
        # Clients send the separator as typed in Dify's UI: "\\n" means a newline.
        return value.replace("\\n", "\n").replace("\\t", "\t")


class Rules(BaseModel):
    pre_processing_rules: list[PreProcessingRule] = Field(default_factory=list)
    segmentation: Segmentation = Field(default_factory=lambda: Segmentation())
    parent_mode: Literal["paragraph", "full-doc"] = "paragraph"
    subchunk_segmentation: Segmentation | None = None


class ProcessRule(BaseModel):
    """Dify's `process_rule`: `mode` automatic (the defaults below), custom (its `rules`), or hierarchical."""

    mode: Literal["automatic", "custom", "hierarchical"] = "automatic"
    rules: Rules | None = None

    def effective(self) -> Rules:
        if self.mode == "automatic" or self.rules is None:
            return automatic_rules()
        return self.rules

    def dump(self) -> dict[str, Any]:
        return {"mode": self.mode, "rules": self.effective().model_dump()}


def automatic_rules() -> Rules:
    return Rules(
        pre_processing_rules=[
            PreProcessingRule(id="remove_extra_spaces", enabled=True),
            PreProcessingRule(id="remove_urls_emails", enabled=False),
        ],
        segmentation=Segmentation(separator="\n", max_tokens=500, chunk_overlap=50),
    )


def parse_process_rule(raw: dict[str, Any] | None, doc_form: str) -> ProcessRule:
    """Validate a request's process_rule; a hierarchical doc_form without rules gets Dify's parent-child defaults."""
    if raw is None or not raw:
        if doc_form == "hierarchical_model":
            return ProcessRule(
                mode="hierarchical",
                rules=Rules(
                    pre_processing_rules=automatic_rules().pre_processing_rules,
                    segmentation=Segmentation(separator="\n\n", max_tokens=500, chunk_overlap=0),
                    parent_mode="paragraph",
                    subchunk_segmentation=Segmentation(separator="\n", max_tokens=200, chunk_overlap=0),
                ),
            )
        return ProcessRule()
    try:
        rule = ProcessRule.model_validate(raw)
    except ValueError as exc:
        raise InvalidParam(f"process_rule: {exc}") from None
    if rule.mode in ("custom", "hierarchical") and rule.rules is None:
        raise InvalidParam("Process rule rules is required")
    if rule.mode == "hierarchical" and rule.rules is not None and rule.rules.subchunk_segmentation is None:
        rule.rules.subchunk_segmentation = Segmentation(separator="\n", max_tokens=200, chunk_overlap=0)
    return rule


# ---- cleaning -----------------------------------------------------------------------------------------------------

_INVALID = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uFFFE]")
_SPACES = re.compile(r"[\t\f\r\x20\u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]{2,}")
_EMAIL = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((https?://[^)]+)\)")
_URL = re.compile(r"https?://\S+")


def clean_text(text: str, rules: Rules) -> str:
    """Dify's cleaning: invalid symbols always; extra spaces / URLs and e-mails when the rule is enabled."""
    text = _INVALID.sub("", text.replace("<|", "<").replace("|>", ">"))
    enabled = {rule.id for rule in rules.pre_processing_rules if rule.enabled}
    if "remove_urls_emails" in enabled:
        text = _EMAIL.sub("", text)
        # Markdown links keep their text; bare URLs go.
        text = _MD_LINK.sub(lambda m: m.group(1), text)
        text = _URL.sub("", text)
    # Spaces last (Dify does them first), so that removed URLs leave no double spaces behind.
    if "remove_extra_spaces" in enabled:
        text = re.sub(r"\n{3,}", "\n\n", text)
        text = _SPACES.sub(" ", text)
    return text


# ---- splitting ----------------------------------------------------------------------------------------------------

TokenCounter = Callable[[str], int]


def split_text(text: str, seg: Segmentation, count: TokenCounter = estimate_tokens) -> list[str]:
    """Split on the fixed separator, re-split pieces over `max_tokens`, merge small pieces with overlap."""
    pieces = text.split(seg.separator) if seg.separator else [text]
    chunks: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if count(piece) <= seg.max_tokens:
            chunks.append(piece)
        else:
            chunks.extend(_recursive_split(piece, seg.max_tokens, seg.chunk_overlap, _FALLBACK_SEPARATORS, count))
    return [c for c in (c.strip() for c in chunks) if c]


def _recursive_split(text: str, limit: int, overlap: int, separators: list[str], count: TokenCounter) -> list[str]:
    separator = next((s for s in separators if s == "" or s in text), "")
    rest = separators[separators.index(separator) + 1 :] if separator else []
    if separator:
        parts = text.split(separator)
        # Keep the separator with the text before it so sentences keep their full stop.
        parts = [p + separator for p in parts[:-1]] + [parts[-1]] if separator.strip() else parts
    else:
        parts = list(text)
    out: list[str] = []
    small: list[str] = []
    for part in parts:
        if not part:
            continue
        if count(part) <= limit:
            small.append(part)
            continue
        if small:
            out.extend(_merge(small, "" if separator.strip() else separator, limit, overlap, count))
            small = []
        out.extend(_recursive_split(part, limit, overlap, rest, count) if rest else _hard_cut(part, limit, count))
    if small:
        out.extend(_merge(small, "" if separator.strip() else separator, limit, overlap, count))
    return out


def _hard_cut(text: str, limit: int, count: TokenCounter) -> list[str]:
    out, current = [], ""
    for ch in text:
        if current and count(current + ch) > limit:
            out.append(current)
            current = ""
        current += ch
    return [*out, current] if current else out


def _merge(parts: list[str], joiner: str, limit: int, overlap: int, count: TokenCounter) -> list[str]:
    """Greedily join parts up to `limit` tokens; each new chunk starts with up to `overlap` tokens of the last."""
    chunks: list[str] = []
    window: list[str] = []
    size = 0
    sizes = [count(p) for p in parts]
    for part, n in zip(parts, sizes, strict=True):
        if window and size + n > limit:
            chunks.append(joiner.join(window))
            while window and (size > overlap or size + n > limit):
                size -= count(window[0])
                window.pop(0)
        window.append(part)
        size += n
    if window:
        chunks.append(joiner.join(window))
    return chunks


# ---- documents ----------------------------------------------------------------------------------------------------


@dataclass
class Chunk:
    content: str
    children: list[str] = field(default_factory=list)


def chunk_document(
    text: str, rule: ProcessRule, doc_form: str = "text_model", count: TokenCounter = estimate_tokens
) -> list[Chunk]:
    """The chunks of one document. `hierarchical_model`: parents by paragraph (or the whole document), each split
    into child chunks; other forms: flat chunks."""
    rules = rule.effective()
    cleaned = clean_text(text, rules)
    if doc_form != "hierarchical_model":
        return [Chunk(c) for c in split_text(cleaned, rules.segmentation, count)]
    sub = rules.subchunk_segmentation or Segmentation(separator="\n", max_tokens=200, chunk_overlap=0)
    if rules.parent_mode == "full-doc":
        # Dify caps a full-doc parent at 10,000 tokens; the children carry retrieval.
        parents = [cleaned.strip()] if cleaned.strip() else []
    else:
        parents = split_text(cleaned, rules.segmentation, count)
    chunks = []
    for parent in parents:
        children = split_text(parent, sub, count) or [parent]
        chunks.append(Chunk(parent, children))
    return chunks

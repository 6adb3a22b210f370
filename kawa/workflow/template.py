"""Dify variable templates: `{{#node_id.var(.attr)*#}}` references inside plain text.

A template parses once into segments (text and variable references). Rendering reads the pool; a reference that
does not resolve renders as its bare `node.var` text, as Dify does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from kawa.workflow.values import to_markdown, to_text
from kawa.workflow.variable_pool import MISSING, VariablePool

VARIABLE_PATTERN: Final = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")


@dataclass(frozen=True, slots=True)
class VariableSegment:
    selector: tuple[str, ...]

    @property
    def raw(self) -> str:
        return ".".join(self.selector)


Segment = str | VariableSegment


@lru_cache(maxsize=4096)
def parse_template(template: str) -> tuple[Segment, ...]:
    """Split into text and variable segments (cached: templates come from compiled graphs)."""
    segments: list[Segment] = []
    position = 0
    for match in VARIABLE_PATTERN.finditer(template):
        if match.start() > position:
            segments.append(template[position : match.start()])
        segments.append(VariableSegment(tuple(match.group(1).split("."))))
        position = match.end()
    if position < len(template):
        segments.append(template[position:])
    return tuple(segments)


def template_selectors(template: str) -> Iterator[tuple[str, ...]]:
    for segment in parse_template(template):
        if isinstance(segment, VariableSegment):
            yield segment.selector


def render_text(template: str, pool: VariablePool) -> str:
    return _render(parse_template(template), pool, markdown=False)


def render_markdown(template: str, pool: VariablePool) -> str:
    return _render(parse_template(template), pool, markdown=True)


def render_segments(segments: Sequence[Segment], pool: VariablePool, *, markdown: bool) -> str:
    return _render(segments, pool, markdown=markdown)


def render_variable(segment: VariableSegment, pool: VariablePool, *, markdown: bool) -> str:
    value = pool.resolve(segment.selector)
    if value is MISSING:
        return segment.raw
    return to_markdown(value) if markdown else to_text(value)


def _render(segments: Sequence[Segment], pool: VariablePool, *, markdown: bool) -> str:
    parts: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            parts.append(segment)
        else:
            parts.append(render_variable(segment, pool, markdown=markdown))
    return "".join(parts)

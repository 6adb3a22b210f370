"""Markdown as a flat list of typed blocks (headings, paragraphs, list items, code, tables, quotes, rules) with
styled inline runs: what the document writers of the Markdown exporter (docx, pptx, pdf, xlsx...) lay out.

Parsed with markdown-it-py (CommonMark plus GFM tables and strikethrough), never with regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# LLMs often wrap the whole answer in ```markdown ... ```: the exporter takes what is inside.
_WRAPPER = re.compile(r"^\s*```(?:markdown|md)?[ \t]*\n(?P<body>.*?)\n```\s*$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    strike: bool = False
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    runs: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    runs: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class ListItem:
    runs: tuple[Run, ...]
    depth: int  # 0 for a top-level item
    number: int | None  # the item's number in an ordered list


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    runs: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    pass


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | ListItem | CodeBlock | Quote | Rule | Table


@dataclass
class _ListState:
    ordered: bool
    next_number: int = 1


@dataclass
class _Walker:
    blocks: list[Block] = field(default_factory=list)
    lists: list[_ListState] = field(default_factory=list)
    quote_depth: int = 0
    item_started: bool = False
    heading_level: int = 0


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def unwrap(markdown: str) -> str:
    """The Markdown inside a ```markdown fence that wraps the whole text, else the text itself."""
    match = _WRAPPER.match(markdown)
    return match.group("body") if match else markdown


def runs_of(inline: Token) -> tuple[Run, ...]:
    """The styled runs of an inline token (line breaks become newlines)."""
    runs: list[Run] = []
    bold = italic = strike = 0
    link: str | None = None
    for child in inline.children or []:
        kind = child.type
        if kind == "text":
            runs.append(Run(child.content, bold > 0, italic > 0, False, strike > 0, link))
        elif kind == "code_inline":
            runs.append(Run(child.content, bold > 0, italic > 0, True, strike > 0, link))
        elif kind in ("softbreak", "hardbreak"):
            runs.append(Run("\n"))
        elif kind == "strong_open" or kind == "strong_close":
            bold += 1 if kind == "strong_open" else -1
        elif kind == "em_open" or kind == "em_close":
            italic += 1 if kind == "em_open" else -1
        elif kind == "s_open" or kind == "s_close":
            strike += 1 if kind == "s_open" else -1
        elif kind == "link_open":
            link = str(child.attrs.get("href") or "") or None
        elif kind == "link_close":
            link = None
        elif kind == "image":
            runs.append(Run(child.content or str(child.attrs.get("alt") or ""), link=str(child.attrs.get("src") or "")))
    return tuple(runs)


def plain(runs: Sequence[Run]) -> str:
    return "".join(run.text for run in runs)


def _table(tokens: list[Token], start: int) -> tuple[Table, int]:
    """The table opening at `start` and the index after its `table_close`."""
    header: list[str] = []
    rows: list[tuple[str, ...]] = []
    row: list[str] = []
    in_head = False
    index = start
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline":
            row.append(plain(runs_of(token)).strip())
        elif token.type == "tr_close":
            if in_head:
                header = row
            else:
                rows.append(tuple(row))
        index += 1
    width = len(header)
    padded = tuple(tuple((*r, *[""] * (width - len(r)))[:width]) if width else r for r in rows)
    return Table(tuple(header), padded), index + 1


def _inline_block(walker: _Walker, token: Token) -> None:
    runs = runs_of(token)
    if walker.heading_level:
        walker.blocks.append(Heading(walker.heading_level, runs))
    elif walker.lists and walker.item_started:
        state = walker.lists[-1]
        number = state.next_number - 1 if state.ordered else None
        walker.blocks.append(ListItem(runs, len(walker.lists) - 1, number))
        walker.item_started = False
    elif walker.lists:  # a second paragraph of the same item: a continuation line
        walker.blocks.append(ListItem(runs, len(walker.lists) - 1, None))
    elif walker.quote_depth:
        walker.blocks.append(Quote(runs))
    else:
        walker.blocks.append(Paragraph(runs))


def _structure(walker: _Walker, token: Token) -> None:
    kind = token.type
    if kind == "heading_open":
        walker.heading_level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
    elif kind == "heading_close":
        walker.heading_level = 0
    elif kind in ("bullet_list_open", "ordered_list_open"):
        start = token.attrs.get("start")
        walker.lists.append(_ListState(kind == "ordered_list_open", int(start) if isinstance(start, int) else 1))
    elif kind in ("bullet_list_close", "ordered_list_close"):
        walker.lists.pop()
    elif kind == "list_item_open":
        walker.item_started = True
        walker.lists[-1].next_number += 1
    elif kind == "blockquote_open":
        walker.quote_depth += 1
    elif kind == "blockquote_close":
        walker.quote_depth -= 1
    elif kind in ("fence", "code_block"):
        walker.blocks.append(CodeBlock(token.info.strip().split(" ")[0] if token.info else "", token.content))
    elif kind == "hr":
        walker.blocks.append(Rule())
    elif kind == "inline":
        _inline_block(walker, token)


def parse_blocks(markdown: str) -> list[Block]:
    """The blocks of a Markdown text, in order (a wrapping ```markdown fence is removed first)."""
    tokens = _parser().parse(unwrap(markdown))
    walker = _Walker()
    index = 0
    while index < len(tokens):
        if tokens[index].type == "table_open":
            table, index = _table(tokens, index)
            walker.blocks.append(table)
            continue
        _structure(walker, tokens[index])
        index += 1
    return walker.blocks


def tables_of(markdown: str) -> list[Table]:
    """The tables of a Markdown text, in order."""
    return [block for block in parse_blocks(markdown) if isinstance(block, Table)]


def render_html(markdown: str) -> str:
    """The Markdown as an HTML fragment (raw HTML in the input is escaped, not passed through)."""
    return str(_parser().render(unwrap(markdown)))

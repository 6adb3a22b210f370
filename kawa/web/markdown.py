"""Markdown to safe HTML for answers: CommonMark + tables with raw HTML off (markdown-it-py), fenced code
highlighted by Pygments with CSS classes, whose light and dark colours `highlight_css()` writes."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True, classprefix="hl-")


def _highlight(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang.strip()) if lang.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes the code itself
    return str(highlight(code, lexer, _FORMATTER))


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    # html=False: raw HTML in a model's answer is shown as text, never run; links keep markdown-it's URL check.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "highlight": _highlight}).enable("table")


def render_markdown(text: str) -> str:
    return str(_renderer().render(text))


def render_plain(text: str) -> str:
    return f"<p>{escape(text)}</p>"


@lru_cache(maxsize=1)
def highlight_css() -> str:
    light = HtmlFormatter(style="default", classprefix="hl-").get_style_defs(".md pre")
    dark = HtmlFormatter(style="monokai", classprefix="hl-").get_style_defs(".md pre")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"

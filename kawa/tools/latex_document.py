"""Markdown blocks as a LaTeX `article` (headings, styled runs, lists, quotes, code as verbatim, tables as
tabular), with LaTeX's special characters escaped."""

from __future__ import annotations

from collections.abc import Sequence

from kawa.tools.markdown_blocks import Block, CodeBlock, Heading, ListItem, Quote, Rule, Run, Table

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_HEADINGS = ("section", "subsection", "subsubsection", "paragraph", "subparagraph", "subparagraph")


def _latex_text(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex_runs(runs: Sequence[Run]) -> str:
    out = []
    for run in runs:
        text = _latex_text(run.text)
        text = rf"\texttt{{{text}}}" if run.code else text
        text = rf"\textbf{{{text}}}" if run.bold else text
        text = rf"\emph{{{text}}}" if run.italic else text
        out.append(text)
    return "".join(out)


def _latex_block(block: Block) -> str:
    if isinstance(block, Heading):
        return rf"\{_LATEX_HEADINGS[min(block.level, 6) - 1]}*{{{_latex_runs(block.runs)}}}"
    if isinstance(block, ListItem):
        environment = "enumerate" if block.number is not None else "itemize"
        return rf"\begin{{{environment}}}\item {_latex_runs(block.runs)}\end{{{environment}}}"
    if isinstance(block, CodeBlock):
        return "\\begin{verbatim}\n" + block.text.rstrip("\n") + "\n\\end{verbatim}"
    if isinstance(block, Quote):
        return rf"\begin{{quote}}{_latex_runs(block.runs)}\end{{quote}}"
    if isinstance(block, Rule):
        return r"\noindent\rule{\linewidth}{0.4pt}"
    if isinstance(block, Table):
        columns = "|".join("l" for _ in block.header) or "l"
        rows = [" & ".join(_latex_text(c) for c in row) + r" \\ \hline" for row in (block.header, *block.rows)]
        return "\\begin{tabular}{|" + columns + "|}\n\\hline\n" + "\n".join(rows) + "\n\\end{tabular}"
    return _latex_runs(block.runs)


def latex_document(blocks: Sequence[Block]) -> str:
    body = "\n\n".join(_latex_block(block) for block in blocks)
    return (
        "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\begin{document}\n\n" + body + "\n\n\\end{document}\n"
    )

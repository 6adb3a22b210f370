"""`ReasoningSplitter`: splits an LLM node's streamed answer into reasoning (`<think>…</think>`, which is also how
`call_model` presents a provider's `reasoning_content`) and text, across chunk boundaries, for `reasoning_format:
separated`: the text streams as the answer, the reasoning as `reasoning_chunk` events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_OPEN = "<think"
_CLOSE = "</think>"


@dataclass(frozen=True, slots=True)
class Piece:
    kind: Literal["text", "reasoning", "reasoning_end"]
    text: str = ""


def _partial_suffix(buffer: str, tag: str) -> int:
    """How many trailing characters of `buffer` could begin `tag` (held back until the next delta decides)."""
    lowered = buffer.lower()
    for size in range(min(len(tag) - 1, len(buffer)), 0, -1):
        if tag.startswith(lowered[-size:]):
            return size
    return 0


class ReasoningSplitter:
    """Feed deltas, then `close()`. Text before the first visible character is trimmed of leading whitespace, as
    the node's final `text` is; the newline `call_model` puts inside the tags is not part of the reasoning."""

    def __init__(self) -> None:
        self._buffer = ""
        self._thinking = False
        self._text_started = False
        self._reasoning_started = False

    def feed(self, delta: str) -> list[Piece]:
        self._buffer += delta
        pieces: list[Piece] = []
        while True:
            tag = _CLOSE if self._thinking else _OPEN
            at = self._buffer.lower().find(tag)
            if at == -1:
                # held back: what may begin the tag (while thinking, with the newline `call_model` puts before it)
                keep = _partial_suffix(self._buffer, "\n" + tag if self._thinking else tag)
                keep = max(keep, _partial_suffix(self._buffer, tag))
                self._out(pieces, self._buffer[: len(self._buffer) - keep])
                self._buffer = self._buffer[len(self._buffer) - keep :]
                return pieces
            if self._thinking:
                self._out(pieces, self._buffer[:at].removesuffix("\n"))
                self._buffer = self._buffer[at + len(_CLOSE) :]
                self._thinking = False
                pieces.append(Piece("reasoning_end"))
                continue
            end = self._buffer.find(">", at)
            if end == -1:  # `<think` seen, its `>` not yet
                self._out(pieces, self._buffer[:at])
                self._buffer = self._buffer[at:]
                return pieces
            self._out(pieces, self._buffer[:at])
            self._buffer = self._buffer[end + 1 :]
            self._thinking, self._reasoning_started = True, False

    def close(self) -> list[Piece]:
        pieces: list[Piece] = []
        self._out(pieces, self._buffer)
        self._buffer = ""
        if self._thinking:
            self._thinking = False
            pieces.append(Piece("reasoning_end"))
        return pieces

    def _out(self, pieces: list[Piece], text: str) -> None:
        if self._thinking:
            if not self._reasoning_started:
                text = text.removeprefix("\n")
            if text:
                self._reasoning_started = True
                pieces.append(Piece("reasoning", text))
            return
        if not self._text_started:
            text = text.lstrip()
        if text:
            self._text_started = True
            pieces.append(Piece("text", text))

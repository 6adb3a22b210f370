"""`ToolCallAccumulator`: the one place where streamed `ToolCallDelta` fragments become whole `ToolCall`s.

Every consumer of a chat stream (the runtime's `chat`, the LLM workflow nodes, the easy-UI apps) assembles tool
calls the same way, so the rules live here once: fragments with the same `index` belong to one call, the first id
and name given win, argument text concatenates in arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kawa.models.types import ToolCall, ToolCallDelta


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallAccumulator:
    """Collects the tool-call fragments of one stream; `calls()` gives the assembled calls, ordered by index.

    A call whose fragments never carried an id gets `call_<index>`; one that never carried argument text gets `{}`
    (an empty JSON object, which is what a provider means by it).
    """

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    def add(self, deltas: Iterable[ToolCallDelta]) -> None:
        """Take the fragments of one stream chunk (`ChatChunk.tool_calls`)."""
        for delta in deltas:
            call = self._calls.get(delta.index)
            if call is None:
                call = self._calls[delta.index] = _PartialCall()
            call.id = call.id or (delta.id or "")
            call.name = call.name or (delta.name or "")
            if delta.arguments:
                call.arguments.append(delta.arguments)

    def calls(self) -> list[ToolCall]:
        """The calls assembled so far, by index."""
        return [
            ToolCall(id=call.id or f"call_{index}", name=call.name, arguments="".join(call.arguments) or "{}")
            for index, call in sorted(self._calls.items())
        ]

    def arguments_text(self) -> str:
        """All argument text received, as the model produced it (what an estimate of completion tokens counts)."""
        return "".join(piece for _, call in sorted(self._calls.items()) for piece in call.arguments)

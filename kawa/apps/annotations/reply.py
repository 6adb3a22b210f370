"""Annotation reply in chat turns: before a chat, agent-chat or chatflow app calls its model (or runs its graph),
a query matching one of the app's annotations is answered with the annotation's answer.

What the client sees is Dify's: the answer as `message` events (easy-UI apps: one per character, as Dify streams
"direct output"; chatflows: one event, no workflow run), then `message_end` whose `metadata.annotation_reply` names
the annotation, with an empty `usage`. The message is linked to the annotation (a hit row) and the hit counted.
Completion apps have no annotation reply (Dify offers it to chat apps only).
"""

from __future__ import annotations

from kawa.apps.annotations.service import AnnotationMatch, AnnotationService
from kawa.apps.event_payloads import answer_fields
from kawa.apps.runners.turn import ChatMode, Turn
from kawa.models.types import Usage

REPLY_MODES = frozenset({"chat", "agent-chat", "advanced-chat"})
ACCOUNT_NAME = "Dify user"
"""Dify names the annotation's author; kawa has no accounts, so the app stands for its owner, under the name Dify
gives an author it cannot find."""


def annotation_reply_metadata(match: AnnotationMatch) -> dict[str, object]:
    """`metadata.annotation_reply` of the message an annotation answered."""
    return {"id": match.annotation.id, "account": {"id": match.annotation.app_id, "name": ACCOUNT_NAME}}


class AnnotationReplyMode:
    """A `ChatMode` that answers from an annotation when one matches, and otherwise hands the turn to `inner`."""

    def __init__(self, inner: ChatMode, annotations: AnnotationService) -> None:
        self.inner = inner
        self.annotations = annotations

    async def run(self, turn: Turn) -> None:
        match = None
        if turn.app.mode in REPLY_MODES and turn.query:
            match = await self.annotations.match(turn.app.id, turn.query)
        if match is None:
            await self.inner.run(turn)
            return
        await self.annotations.record_hit(
            match, message_id=turn.message.id, end_user_id=turn.end_user.id, query=turn.query
        )
        turn.annotation_reply = annotation_reply_metadata(match)
        turn.usage = Usage().model_dump(mode="json")
        answer = match.annotation.answer
        if turn.app.mode == "advanced-chat":
            turn.answer = answer
            turn.publish("message", {**answer_fields(turn.message.id, answer), "from_variable_selector": None})
            return
        for character in answer:
            if turn.stop.is_set():
                return
            turn.answer += character
            turn.publish("message", answer_fields(turn.message.id, character))

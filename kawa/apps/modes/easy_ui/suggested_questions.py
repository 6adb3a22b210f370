"""Suggested questions after an answer: the app's model proposes the user's three likeliest next questions."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kawa.apps.modes.easy_ui.config import model_settings_of
from kawa.apps.modes.easy_ui.prompt import history_text, history_within
from kawa.apps.modes.easy_ui.request import HistoryTurn
from kawa.models.registry import ModelRuntime
from kawa.models.types import ChatCompletionRequest, ChatMessage, CompletionParams

log = logging.getLogger(__name__)

SUGGESTION_TURNS = 3
SUGGESTION_TOKENS = 3000
_ARRAY = re.compile(r"\[.*?\]", re.DOTALL)

SUGGESTION_PROMPT = (
    "{histories}\n"
    "From the conversation above, predict the three questions the user is most likely to ask next. "
    "Keep each question short (under 20 characters) and write them in the language of the conversation. "
    'Reply with a JSON array of three strings only, for example ["question one", "question two", "question three"].'
    "\nquestions:\n"
)


def parse_questions(text: str) -> list[str]:
    """The first JSON array in `text`, as up to three non-empty strings."""
    found = _ARRAY.search(text)
    if found is None:
        return []
    value = json.loads(found.group(0))
    if not isinstance(value, list):
        return []
    return [str(q).strip() for q in value if isinstance(q, str | int | float) and str(q).strip()][:3]


async def suggest_questions(
    history: Sequence[HistoryTurn], *, models: ModelRuntime, model_config: Mapping[str, Any]
) -> list[str]:
    """Three short next questions from the last turns of `history` (oldest first); any failure gives []."""
    try:
        model = model_settings_of(model_config)
        turns = history_within(list(history)[-SUGGESTION_TURNS:], SUGGESTION_TOKENS)
        if not turns:
            return []
        prompt = SUGGESTION_PROMPT.format(histories=history_text(turns, "Human", "Assistant"))
        request = ChatCompletionRequest(
            model=model.name,
            messages=[ChatMessage.user(prompt)],
            params=CompletionParams(max_tokens=256, temperature=0.0),
        )
        result = await models.chat(model.provider, request)
        return parse_questions(result.text)
    except Exception:
        log.warning("suggested questions failed", exc_info=True)
        return []

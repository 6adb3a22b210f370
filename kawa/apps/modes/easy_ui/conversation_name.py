"""Conversation names: a short title the model writes for the first query, or the query itself cut short."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from kawa.apps.modes.easy_ui.config import model_settings_of
from kawa.models.registry import ModelRuntime
from kawa.models.types import ChatCompletionRequest, ChatMessage, CompletionParams

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 75
FALLBACK_CHARS = 47
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)

NAME_PROMPT = (
    "Write a short title for a conversation that starts with the user's message below. "
    "Use the language the message is written in, and keep the title under 20 words. "
    'Reply with a JSON object only, with the keys "Language Type" (the language of the message), '
    '"Your Reasoning" (one sentence) and "Your Output" (the title).\n\n'
    "User message: "
)


def fallback_name(query: str) -> str:
    query = query.strip()
    return query if len(query) <= FALLBACK_CHARS else query[:FALLBACK_CHARS] + "..."


def _title_from(text: str) -> str | None:
    found = _OBJECT.search(text)
    if found is None:
        return None
    try:
        value = json.loads(found.group(0))
    except ValueError:
        # Models often leave a trailing comma or a stray quote; the title alone is still readable.
        match = re.search(r'"Your Output"\s*:\s*"([^"]*)"', found.group(0))
        return match.group(1) if match else None
    output = value.get("Your Output") if isinstance(value, dict) else None
    return output if isinstance(output, str) else None


async def generate_conversation_name(query: str, *, models: ModelRuntime, model_config: Mapping[str, Any]) -> str:
    """A title of at most 75 characters (+ "..." when cut); on any failure the query cut to 47 characters."""
    try:
        model = model_settings_of(model_config)
        text = query if len(query) <= 2000 else query[:300] + "...[TRUNCATED]..." + query[-300:]
        prompt = NAME_PROMPT + text.replace("\n", " ") + "\n"
        request = ChatCompletionRequest(
            model=model.name,
            messages=[ChatMessage.user(prompt)],
            params=CompletionParams(max_tokens=500, temperature=1.0),
        )
        result = await models.chat(model.provider, request)
    except Exception:
        log.warning("conversation name generation failed", exc_info=True)
        return fallback_name(query)
    name = (_title_from(result.text) or "").strip() or query.strip()
    if not name:
        return fallback_name(query)
    return name if len(name) <= MAX_NAME_CHARS else name[:MAX_NAME_CHARS] + "..."

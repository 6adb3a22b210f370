"""Prompt assembly of easy-UI apps, as Dify builds it: simple mode (pre_prompt, context, history, query) for chat and
completion models, and advanced mode (`chat_prompt_config`, `completion_prompt_config`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kawa.apps.modes.easy_ui.config import AppSettings
from kawa.apps.modes.easy_ui.request import HistoryTurn
from kawa.errors import CompletionRequestError
from kawa.models.context_windows import DEFAULT_CONTEXT_TOKENS, context_window
from kawa.models.pricing import estimate_tokens
from kawa.models.registry import ModelRuntime
from kawa.models.types import ChatMessage, ContentPart, ImagePart, TextPart

# `{{name}}` (a form variable) or one of the three special slots; other `{{...}}` text is left alone.
_VARIABLE = re.compile(r"\{\{([a-zA-Z_][a-zA-Z0-9_]{0,29}|#histories#|#query#|#context#)\}\}")
_SPECIAL_TOKEN = re.compile(r"<\|.*?\|>")

CONTEXT_PROMPT = (
    "Treat the context inside the <context></context> XML tags as knowledge you have learned.\n\n"
    "<context>\n{{#context#}}\n</context>\n\n"
    "When you answer the user:\n"
    "- If the context does not tell you, say that you do not know.\n"
    "- If you are not sure, ask the user to clarify.\n"
    "Do not mention that the knowledge came from a context, "
    "and answer in the language of the user's question.\n\n"
)
HISTORIES_PROMPT = (
    "The conversation so far between the human and the assistant is inside the <histories></histories> XML tags.\n\n"
    "<histories>\n{{#histories#}}\n</histories>\n\n"
)
CHAT_QUERY_PROMPT = "\n\nHuman: {{#query#}}\n\nAssistant: "
CHAT_COMPLETION_STOPS = ("\nHuman:", "</histories>")
MAX_HISTORY_TURNS = 500


class PromptTooLong(CompletionRequestError):
    """The prompt without any history, plus the answer's max_tokens, exceeds the model's context window (Dify's
    wording). History is never silently cut to nothing: it gets what the window leaves, or the request fails."""

    default_message = (
        "Query or prefix prompt is too long, you can reduce the prefix prompt, or shrink the max token, "
        "or switch to a llm with a larger token limit size."
    )


def model_context_tokens(models: ModelRuntime, provider_id: str, model: str) -> int:
    """The context window of the model an app names, after kawa resolves it (aliases, defaults)."""
    try:
        target = models.resolve_chat(provider_id, model)
    except Exception:
        return context_window(models.config.context_sizes, provider_id, model)  # the call itself will fail clearly
    return context_window(models.config.context_sizes, target.provider_name, target.model)


@dataclass(frozen=True)
class Prompt:
    messages: list[ChatMessage]
    stop: list[str]


def input_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Substitute `{{var}}` slots (no Jinja). Unknown slots stay as written; slots inside substituted values are
    defused to `{var}`, so an input cannot pull in another variable."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            return match.group(0)
        return _VARIABLE.sub(r"{\1}", values[key])

    return _SPECIAL_TOKEN.sub("", _VARIABLE.sub(replace, template))


def form_values(inputs: Mapping[str, Any]) -> dict[str, str]:
    # Special slots are filled by the pipeline only, never from user inputs.
    return {key: input_text(value) for key, value in inputs.items() if not key.startswith("#")}


def image_parts(files: Sequence[Mapping[str, Any]], detail: Literal["low", "high", "auto"]) -> list[ImagePart]:
    parts = []
    for file in files:
        url = file.get("url") or file.get("remote_url")
        if file.get("type") == "image" and isinstance(url, str) and url:
            parts.append(ImagePart(url=url, detail=detail))
    return parts


def user_message(text: str, images: Sequence[ImagePart]) -> ChatMessage:
    if not images:
        return ChatMessage.user(text)
    content: list[ContentPart] = [TextPart(text=text), *images]
    return ChatMessage.user(content)


def message_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(estimate_tokens(m.text()) + 4 + 85 * len(m.images()) for m in messages)


def history_within(history: Sequence[HistoryTurn], budget: int) -> list[HistoryTurn]:
    """The most recent answered turns whose messages fit `budget` tokens; older turns are dropped first."""
    turns = [t for t in history if t.answer][-MAX_HISTORY_TURNS:]
    sizes = [estimate_tokens(t.query) + estimate_tokens(t.answer) + 8 for t in turns]
    total = sum(sizes)
    start = 0
    while start < len(turns) and total > budget:
        total -= sizes[start]
        start += 1
    return turns[start:]


def history_messages(turns: Sequence[HistoryTurn]) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for turn in turns:
        messages += [ChatMessage.user(turn.query), ChatMessage.assistant(turn.answer)]
    return messages


def history_text(turns: Sequence[HistoryTurn], user_prefix: str, assistant_prefix: str) -> str:
    return "\n".join(f"{user_prefix}: {t.query}\n{assistant_prefix}: {t.answer}" for t in turns)


class PromptBuilder:
    """Builds the messages of one request; `build` again once retrieval has produced a context."""

    def __init__(
        self,
        settings: AppSettings,
        *,
        app_mode: str,
        inputs: Mapping[str, Any],
        query: str,
        images: Sequence[ImagePart],
        history: Sequence[HistoryTurn],
    ) -> None:
        self.settings = settings
        self.app_mode = app_mode
        self.values = form_values(inputs)
        self.query = query
        self.images = list(images)
        self.history = list(history) if app_mode != "completion" else []

    def _budget(self, current: Sequence[ChatMessage]) -> int:
        """Tokens left for history once `current` and the answer's max_tokens are in the window."""
        model = self.settings.model
        window = model.context_tokens or DEFAULT_CONTEXT_TOKENS
        rest = window - (model.params.max_tokens or 0) - message_tokens(current)
        if rest < 0:
            raise PromptTooLong()
        return rest

    def build(self, context: str | None) -> Prompt:
        completion_model = self.settings.model.mode == "completion"
        if self.settings.prompt_type == "advanced":
            if completion_model and self.settings.completion_prompt is not None:
                return self._advanced_completion(context)
            return self._advanced_chat(context)
        if completion_model:
            return self._simple_completion(context)
        return self.simple_chat(context)

    def system_text(self, context: str | None) -> str:
        """Context block and pre_prompt, as simple mode puts them at the top of the prompt."""
        text = fill_template(CONTEXT_PROMPT, {"#context#": context}) if context else ""
        if self.settings.pre_prompt:
            values = {**self.values, "#context#": context} if context else self.values
            text += fill_template(self.settings.pre_prompt, values) + "\n"
        return text

    def simple_chat(self, context: str | None) -> Prompt:
        """System (context + pre_prompt), history, then the query: also the base prompt of agents."""
        system = self.system_text(context).rstrip()
        messages: list[ChatMessage] = []
        if system and self.query:
            messages.append(ChatMessage.system(system))
        last = user_message(self.query if self.query else system, self.images)
        turns = history_within(self.history, self._budget([*messages, last]))
        return Prompt([*messages, *history_messages(turns), last], [])

    def _simple_completion(self, context: str | None) -> Prompt:
        head = self.system_text(context)
        if self.app_mode == "completion":
            message = user_message(head + self.query, self.images)
            self._budget([message])
            return Prompt([message], [])
        query = fill_template(CHAT_QUERY_PROMPT, {"#query#": self.query})
        if self.history:
            turns = history_within(self.history, self._budget([ChatMessage.user(head + query)]))
            histories = fill_template(HISTORIES_PROMPT, {"#histories#": history_text(turns, "Human", "Assistant")})
            head += histories
        return Prompt([user_message(head + query, self.images)], list(CHAT_COMPLETION_STOPS))

    def _slots(self, context: str | None) -> dict[str, str]:
        return {**self.values, "#context#": context or ""}

    def _advanced_chat(self, context: str | None) -> Prompt:
        messages: list[ChatMessage] = []
        for role, text in self.settings.chat_prompt:
            filled = fill_template(text, self._slots(context))
            if role == "system":
                if filled:
                    messages.append(ChatMessage.system(filled))
            elif role == "assistant":
                messages.append(ChatMessage.assistant(filled))
            else:
                messages.append(ChatMessage.user(filled))
        last = user_message(self.query, self.images) if self.query or self.images else None
        current = [*messages, last] if last is not None else messages
        turns = history_within(self.history, self._budget(current))
        if last is None:
            return Prompt([*messages, *history_messages(turns)], [])
        return Prompt([*messages, *history_messages(turns), last], [])

    def _advanced_completion(self, context: str | None) -> Prompt:
        template = self.settings.completion_prompt or ""
        slots = {**self._slots(context), "#query#": self.query, "#histories#": ""}
        if self.history and "{{#histories#}}" in template:
            turns = history_within(self.history, self._budget([ChatMessage.user(fill_template(template, slots))]))
            s = self.settings
            slots["#histories#"] = history_text(turns, s.user_prefix, s.assistant_prefix)
        return Prompt([user_message(fill_template(template, slots), self.images)], [])

"""The conversation namer and the question suggester of every chat mode. They ask the app's model; a chatflow has
no model of its own, so it uses `models.default_chat_model` when one is configured (as Dify uses the workspace
default model)."""

from __future__ import annotations

from typing import Any

from kawa.apps.modes.easy_ui.conversation_name import generate_conversation_name
from kawa.apps.modes.easy_ui.mode import history_turns
from kawa.apps.modes.easy_ui.suggested_questions import suggest_questions
from kawa.dsl.document import GRAPH_MODES, app_features
from kawa.errors import BadRequest
from kawa.models.registry import ModelRuntime
from kawa.store.messages import MessageStore
from kawa.store.tables import App, AppVersion, Message


def _model_config_of(models: ModelRuntime, app: App, version: AppVersion) -> dict[str, Any] | None:
    if app.mode not in GRAPH_MODES:
        return version.document.get("model_config") or {}
    default = models.config.default_chat_model
    if not default:
        return None
    provider, _, name = default.partition("/")
    return {"model": {"provider": provider, "name": name, "mode": "chat", "completion_params": {}}}


class ConversationNamer:
    def __init__(self, models: ModelRuntime) -> None:
        self.models = models

    async def __call__(self, app: App, version: AppVersion, query: str) -> str:
        model_config = _model_config_of(self.models, app, version)
        if model_config is None:
            return query[:47] + ("..." if len(query) > 47 else "")
        return await generate_conversation_name(query, models=self.models, model_config=model_config)


class Suggester:
    """`GET /messages/:id/suggested`: the next questions a user may ask, when the app turns the feature on."""

    def __init__(self, models: ModelRuntime, messages: MessageStore) -> None:
        self.models = models
        self.messages = messages

    async def __call__(self, app: App, version: AppVersion, message: Message) -> list[str]:
        if not (app_features(version.document).get("suggested_questions_after_answer") or {}).get("enabled"):
            raise BadRequest("Suggested Questions Is Disabled.")
        model_config = _model_config_of(self.models, app, version)
        if model_config is None or message.conversation_id is None:
            return []
        history = await self.messages.history(message.conversation_id, limit=3)
        return await suggest_questions(history_turns(history), models=self.models, model_config=model_config)

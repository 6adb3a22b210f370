"""`GET /messages/:id/suggested`: the next questions a user may ask, when the app turns the feature on."""

from __future__ import annotations

from kawa.dsl.document import app_features
from kawa.errors import BadRequest
from kawa.models.registry import ModelRuntime
from kawa.store.messages import MessageStore
from kawa.store.tables import App, AppVersion, Message


class Suggester:
    def __init__(self, models: ModelRuntime, messages: MessageStore) -> None:
        self.models = models
        self.messages = messages

    async def __call__(self, app: App, version: AppVersion, message: Message) -> list[str]:
        features = app_features(version.document)
        if not (features.get("suggested_questions_after_answer") or {}).get("enabled"):
            raise BadRequest("Suggested Questions Is Disabled.")
        return []

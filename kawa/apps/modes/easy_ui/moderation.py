"""Sensitive-word avoidance: keyword lists checked in-process, or the OpenAI-style moderation model of the runtime."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kawa.apps.modes.easy_ui.config import ModerationSettings
from kawa.apps.modes.easy_ui.prompt import input_text
from kawa.errors import ModelNotSupported, ProviderNotInitialized
from kawa.models.registry import ModelRuntime

log = logging.getLogger(__name__)

MODERATION_PROVIDER = "openai"
# Output is checked again each time it has grown by this many characters (Dify's MODERATION_BUFFER_SIZE).
OUTPUT_CHECK_CHARS = 300


def keywords_hit(keywords: tuple[str, ...], texts: list[str]) -> bool:
    """Case-insensitive substring match of any keyword in any text."""
    lowered = [t.lower() for t in texts]
    return any(k.lower() in t for k in keywords for t in lowered)


class Moderator:
    def __init__(self, settings: ModerationSettings, models: ModelRuntime, app_provider: str) -> None:
        self.settings = settings
        self.models = models
        self.app_provider = app_provider

    async def _flagged(self, texts: list[str]) -> bool:
        if self.settings.kind == "keywords":
            return keywords_hit(self.settings.keywords, texts)
        text = "\n".join(t for t in texts if t)
        if not text:
            return False
        try:
            result = await self.models.moderate(text, provider_id=MODERATION_PROVIDER)
        except (ProviderNotInitialized, ModelNotSupported):
            # No `openai` provider here: ask the app's own provider, if it moderates.
            result = await self.models.moderate(text, provider_id=self.app_provider)
        return result.flagged

    async def check_inputs(self, inputs: Mapping[str, Any], query: str) -> str | None:
        """The preset response when the inputs or query are flagged, else None."""
        if not self.settings.inputs_enabled:
            return None
        texts = [input_text(v) for v in inputs.values()]
        if query:
            texts.append(query)
        return self.settings.inputs_preset if await self._flagged(texts) else None

    @property
    def checks_outputs(self) -> bool:
        return self.settings.outputs_enabled

    @property
    def checks_output_while_streaming(self) -> bool:
        # A moderation model call per few hundred characters would slow the stream; keywords cost nothing.
        return self.settings.outputs_enabled and self.settings.kind == "keywords"

    async def check_output(self, text: str) -> str | None:
        """The preset response when `text` is flagged, else None. A failing moderation call lets the text through."""
        if not self.settings.outputs_enabled or not text:
            return None
        try:
            flagged = await self._flagged([text])
        except Exception:
            log.exception("output moderation failed; the answer is kept")
            return None
        return self.settings.outputs_preset if flagged else None

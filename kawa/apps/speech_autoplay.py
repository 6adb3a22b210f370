"""Text-to-speech auto-play of chat messages (Dify's `text_to_speech.autoPlay: enabled`): while a streamed answer
arrives, each finished sentence is spoken in order and sent as a `tts_message` event (`audio`: base64 of an MP3);
after `message_end` the rest is spoken and `tts_message_end` (`audio: ""`) closes the audio, as Dify orders them.

Speech comes from the model runtime (the embedded eSpeak NG by default). A sentence that cannot be spoken is
skipped (logged), never a failed message: audio is an extra of the answer.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from kawa.apps.runners.turn import Publish
from kawa.dsl.document import app_features
from kawa.models.types import Speech

log = logging.getLogger("kawa.chat")

ANSWER_EVENTS = frozenset({"message", "agent_message"})
FINISH_TIMEOUT_S = 30.0
_SENTENCE_END = re.compile(r"[.!?;:](?=\s)|[。！？；\n]")


class SpeechSynthesizer(Protocol):
    async def synthesize(
        self,
        text: str,
        *,
        provider_id: str | None = None,
        model: str | None = None,
        voice: str | None = None,
        audio_format: str = "mp3",
    ) -> Speech: ...


def auto_play_voice(document: Mapping[str, Any]) -> str | None:
    """The voice to auto-play answers with ("" for the default), or None when the app does not auto-play."""
    tts = app_features(dict(document)).get("text_to_speech") or {}
    if not isinstance(tts, dict) or not tts.get("enabled") or tts.get("autoPlay") != "enabled":
        return None
    voice = tts.get("voice")
    return voice if isinstance(voice, str) and voice != "default" else ""


class AutoPlay:
    """Wraps a message's `publish`: answer deltas pass through and are also spoken, sentence by sentence."""

    def __init__(self, speech: SpeechSynthesizer, publish: Publish, voice: str) -> None:
        self._speech = speech
        self._publish = publish
        self._voice = voice or None
        self._pending = ""
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self._worker = asyncio.create_task(self._speak(), name="tts-auto-play")

    def publish(self, event: str, fields: dict[str, Any]) -> None:
        self._publish(event, fields)
        if event in ANSWER_EVENTS:
            self._feed(str(fields.get("answer") or ""))

    def _feed(self, delta: str) -> None:
        self._pending += delta
        last_end = None
        for found in _SENTENCE_END.finditer(self._pending):
            last_end = found.end()
        if last_end is not None:
            self._queue(self._pending[:last_end])
            self._pending = self._pending[last_end:]

    def _queue(self, text: str) -> None:
        if text.strip():
            self._sentences.put_nowait(text.strip())

    async def _speak(self) -> None:
        while (text := await self._sentences.get()) is not None:
            try:
                speech = await self._speech.synthesize(text, voice=self._voice)
            except Exception:
                log.warning("auto-play could not speak a sentence; it is skipped", exc_info=True)
                continue
            self._publish("tts_message", {"audio": base64.b64encode(speech.audio).decode()})

    async def finish(self) -> None:
        """Speak what is left, then send `tts_message_end` (after at most `FINISH_TIMEOUT_S` of waiting)."""
        self._queue(self._pending)
        self._pending = ""
        self._sentences.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._worker), FINISH_TIMEOUT_S)
        except TimeoutError:
            log.warning("auto-play did not finish speaking in %.0f s; the rest is left out", FINISH_TIMEOUT_S)
            self.stop()
        self._publish("tts_message_end", {"audio": ""})

    def stop(self) -> None:
        """Stop speaking (a failed or cancelled message: no more audio is sent)."""
        self._worker.cancel()

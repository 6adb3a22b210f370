"""`/audio-to-text` and `/text-to-audio`, through the model runtime (embedded Whisper and eSpeak NG by default)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.dsl.document import app_features
from kawa.errors import AudioTooLarge, InvalidParam, NoAudioUploaded, NotFound, UnsupportedAudioType

router = APIRouter(tags=["audio"])

MAX_AUDIO_BYTES = 30 * 1024 * 1024
AUDIO_TYPES = {"mp3", "mpeg", "mpga", "m4a", "mp4", "x-m4a", "wav", "x-wav", "wave", "amr", "webm", "ogg"}


@router.post("/audio-to-text", summary="Transcribe an audio file (multipart `file` + `user`)")
async def audio_to_text(request: Request, auth: AppAuthDep, services: ServicesDep) -> dict[str, str]:
    version = await services.apps.current_version(auth.app)
    if not (app_features(version.document).get("speech_to_text") or {}).get("enabled"):
        raise InvalidParam("Speech to text is not enabled for this app.")
    form = await request.form(max_files=1, max_part_size=MAX_AUDIO_BYTES + 1)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise NoAudioUploaded()
    mime = (upload.content_type or "").lower()
    if not mime.startswith("audio/") or mime.split("/", 1)[1].split(";")[0] not in AUDIO_TYPES:
        raise UnsupportedAudioType(f"Audio type {mime or 'unknown'} not allowed.")
    data = await upload.read(MAX_AUDIO_BYTES + 1)
    if len(data) > MAX_AUDIO_BYTES:
        raise AudioTooLarge()
    if not data:
        raise NoAudioUploaded()
    transcript = await services.models.transcribe(data, filename=upload.filename or "audio")
    return {"text": transcript.text}


class TextToAudioBody(BaseModel):
    message_id: str | None = None
    text: str | None = None
    voice: str | None = None
    streaming: bool | None = None
    user: str | None = None


@router.post("/text-to-audio", dependencies=[JsonBody], summary="Speak a text or a message's answer")
async def text_to_audio(body: TextToAudioBody, auth: AppAuthDep, services: ServicesDep) -> Response:
    version = await services.apps.current_version(auth.app)
    tts = app_features(version.document).get("text_to_speech") or {}
    if not tts.get("enabled"):
        raise InvalidParam("TTS is not enabled")
    text = body.text
    if body.message_id:
        message = await services.messages.get(body.message_id, app_id=auth.app.id)
        if message is None:
            raise NotFound("Message Not Exists.")
        text = message.answer
    if not text or not text.strip():
        raise InvalidParam("text is required")
    voice = body.voice or tts.get("voice") or None
    speech = await services.models.synthesize(text, voice=voice if voice not in ("", "default") else None)
    return Response(speech.audio, media_type=speech.mime_type)

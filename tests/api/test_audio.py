"""`/text-to-audio` and `/audio-to-text` with the embedded speech models, round trip, and their errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer

SENTENCE = "Please schedule a meeting with the finance team for next Tuesday at three o'clock."


@pytest.fixture(scope="module")
def voice_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "workflow-voice.yml")


@pytest.fixture
def voice(server: RunningServer, voice_app: ImportedApp) -> Iterator[httpx.Client]:
    with client_for(server, voice_app.api_key) as client:
        client.timeout = httpx.Timeout(120)
        yield client


def test_speech_round_trip(voice: httpx.Client) -> None:
    spoken = voice.post("/text-to-audio", json={"text": SENTENCE, "user": "alice"})
    assert spoken.status_code == 200, spoken.text
    assert spoken.headers["content-type"].startswith("audio/")
    assert len(spoken.content) > 10_000
    extension = "mp3" if "mpeg" in spoken.headers["content-type"] else "wav"
    heard = voice.post(
        "/audio-to-text",
        files={"file": (f"speech.{extension}", spoken.content, spoken.headers["content-type"])},
        data={"user": "alice"},
    )
    assert heard.status_code == 200, heard.text
    text = heard.json()["text"].lower()
    for word in ("schedule", "meeting", "finance", "tuesday"):
        assert word in text, text


def test_audio_errors(voice: httpx.Client, hello_client: httpx.Client) -> None:
    missing = voice.post("/audio-to-text", data={"user": "alice"}, files={"other": ("x", b"1")})
    assert missing.status_code == 400 and missing.json()["code"] == "no_audio_uploaded"
    wrong = voice.post("/audio-to-text", files={"file": ("a.txt", b"hello", "text/plain")})
    assert wrong.status_code == 415 and wrong.json()["code"] == "unsupported_audio_type"
    too_big = voice.post("/audio-to-text", files={"file": ("a.wav", b"\0" * (30 * 1024 * 1024 + 1), "audio/wav")})
    assert too_big.status_code == 413 and too_big.json()["code"] == "audio_too_large"
    assert voice.post("/text-to-audio", json={"text": " "}).status_code == 400


def test_features_off_are_refused(hello_client: httpx.Client) -> None:
    stt = hello_client.post("/audio-to-text", files={"file": ("a.wav", b"RIFF", "audio/wav")})
    assert stt.status_code == 400 and stt.json()["code"] == "invalid_param"
    tts = hello_client.post("/text-to-audio", json={"text": "hi"})
    assert tts.status_code == 400 and tts.json() == {
        "code": "invalid_param",
        "message": "TTS is not enabled",
        "status": 400,
    }

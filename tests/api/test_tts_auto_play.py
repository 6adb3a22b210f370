"""Text-to-speech auto-play: with `text_to_speech.autoPlay: enabled`, a streamed chat answer is also spoken (the
embedded eSpeak NG) and sent as `tts_message` events (base64 MP3), closed by `tts_message_end` after
`message_end`, as Dify orders them. Real server, a protocol-faithful OpenAI upstream on loopback."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events
from support.upstream import upstream_models

API_KEY = "sk-upstream-test-key"
ANSWER = "Good morning. The weather is fine today, with a light breeze!"
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "dsl" / "chat-assistant.yml"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        fake.on_model("gpt-4o-mini", Scenario(text=ANSWER))
        yield fake


@pytest.fixture(scope="module")
def model_server(
    database_url: str, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    models = upstream_models(upstream, timeout_s=5.0)
    server = start_server(make_settings(tmp_path_factory.mktemp("tts-home"), database_url, models=models))
    yield server
    server.stop()


def chat(server: RunningServer, dsl: str, mode: str = "streaming") -> list[dict]:
    app = import_app(server.settings, dsl)
    with client_for(server, app.api_key) as client:
        client.timeout = 120
        body = {"query": "Weather?", "inputs": {"unit": "celsius"}, "user": "u", "response_mode": mode}
        response, events = stream_events(client, "/chat-messages", body)
    assert response.status_code == 200
    return events


def auto_play(text: str) -> str:
    marker = "  text_to_speech:\n    enabled: true\n"
    assert marker in text
    return text.replace(marker, marker + "    autoPlay: enabled\n")


def test_auto_play_speaks_the_answer_after_message_end(model_server: RunningServer) -> None:
    events = chat(model_server, auto_play(FIXTURE.read_text()))
    names = [e["event"] for e in events]
    assert "".join(e["answer"] for e in events if e["event"] == "message") == ANSWER
    assert names[-1] == "tts_message_end" and events[-1]["audio"] == ""
    assert names.index("message_end") < names.index("tts_message_end")
    audio = [base64.b64decode(e["audio"]) for e in events if e["event"] == "tts_message"]
    assert len(audio) >= 2  # spoken sentence by sentence
    for chunk in audio:
        assert chunk[:3] == b"ID3" or chunk[0] == 0xFF, chunk[:8]  # an MP3 (tag or frame sync)
        assert len(chunk) > 1000
    for event in events:
        if event["event"].startswith("tts_"):
            assert {"task_id", "message_id", "conversation_id", "created_at", "audio"} <= set(event)


def test_without_auto_play_no_audio_is_sent(model_server: RunningServer) -> None:
    events = chat(model_server, FIXTURE.read_text())  # text_to_speech enabled, autoPlay not set
    assert events[-1]["event"] == "message_end"
    assert not [e for e in events if e["event"].startswith("tts_")]

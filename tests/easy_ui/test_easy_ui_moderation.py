"""Sensitive-word avoidance: flagged inputs are answered with the preset (no model call), flagged output replaced."""

from __future__ import annotations

import asyncio

from easy_ui_support import chat_config, deltas, finished, fixture_config, make_request, run
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.apps.modes.easy_ui import MessageReplace


def keywords(inputs: bool = True, outputs: bool = False, words: str = "forbidden\nsecret") -> dict:
    return {
        "enabled": True,
        "type": "keywords",
        "config": {
            "keywords": words,
            "inputs_config": {"enabled": inputs, "preset_response": "I cannot talk about that."},
            "outputs_config": {"enabled": outputs, "preset_response": "[removed]"},
        },
    }


async def test_keyword_in_the_query_streams_the_preset_one_character_per_event(fake: FakeOpenAI, models) -> None:
    events = await run(make_request(chat_config(sensitive_word_avoidance=keywords()), "Tell me the SECRET"), models)
    assert deltas(events) == list("I cannot talk about that.")
    result = finished(events)
    assert (result.answer, result.finish_reason) == ("I cannot talk about that.", "moderated")
    assert result.usage.total_tokens == 0
    assert fake.requests == []


async def test_keyword_in_an_input_value_is_flagged_too(fake: FakeOpenAI, models) -> None:
    config = fixture_config("completion-writer.yml")
    inputs = {"product": "Kettle", "facts": "a Forbidden feature"}
    events = await run(make_request(config, "", mode="completion", inputs=inputs), models)
    assert finished(events).answer == "I cannot write that."
    assert fake.requests == []


async def test_clean_input_reaches_the_model(fake: FakeOpenAI, models) -> None:
    events = await run(make_request(chat_config(sensitive_word_avoidance=keywords()), "Tell me a joke"), models)
    assert finished(events).answer == "Hello from the fake upstream."


async def test_keyword_in_the_answer_is_replaced_with_the_output_preset(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="The secret code is 1234."))
    config = chat_config(sensitive_word_avoidance=keywords(inputs=False, outputs=True))
    events = await run(make_request(config, "code?"), models)
    assert "".join(deltas(events)) == "The secret code is 1234."
    assert events[-2] == MessageReplace("[removed]", "output_moderation")
    assert finished(events).answer == "[removed]"


async def test_long_flagged_output_is_cut_off_while_streaming(fake: FakeOpenAI, models) -> None:
    text = " ".join(["filler"] * 60 + ["forbidden"] + ["more"] * 200)
    fake.on_model("gpt-4o-mini", Scenario(text=text, chunk_delay_s=0.002))
    config = chat_config(sensitive_word_avoidance=keywords(inputs=False, outputs=True))
    events = await run(make_request(config, "go"), models)
    replaces = [e for e in events if isinstance(e, MessageReplace)]
    assert replaces == [MessageReplace("[removed]", "output_moderation")]
    assert len("".join(deltas(events))) < len(text)
    assert finished(events).answer == "[removed]"
    record = await asyncio.to_thread(fake.wait_stream_ended)
    assert record.client_closed and not record.completed


async def test_openai_moderation_flags_input_through_the_moderation_model(fake: FakeOpenAI, models) -> None:
    config = chat_config(
        sensitive_word_avoidance={
            "enabled": True,
            "type": "openai_moderation",
            "config": {
                "inputs_config": {"enabled": True, "preset_response": "Not allowed."},
                "outputs_config": {"enabled": False, "preset_response": ""},
            },
        }
    )
    events = await run(make_request(config, "how to kill a process"), models)
    assert finished(events).answer == "Not allowed."
    assert [r.path for r in fake.requests] == ["/v1/moderations"]

    events = await run(make_request(config, "how to list processes"), models)
    assert finished(events).answer == "Hello from the fake upstream."
    assert fake.requests[-1].path == "/v1/chat/completions"

"""The Anthropic provider: the real `anthropic` SDK against the fake's Messages API over real HTTP."""

from __future__ import annotations

import json
import time

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from model_support import API_KEY

from kawa.errors import ProviderNotInitialized, ProviderRateLimited, ProviderUnavailable
from kawa.models.settings import ModelsSettings
from kawa.models.types import ChatCompletionRequest, ChatMessage, ImagePart, TextPart, ToolCall, ToolDefinition


def anthropic_config(fake: FakeOpenAI, key: str = API_KEY) -> ModelsSettings:
    return ModelsSettings.model_validate(
        {
            "providers": {
                "anthropic": {"kind": "anthropic", "base_url": fake.base_url.removesuffix("/v1"), "api_key": key}
            },
            "max_retries": 0,
            "timeout_s": 2,
            "embedded": {"chat": False},
        }
    )


async def test_text_and_thinking_stream_with_usage(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("claude-sonnet", Scenario(text="Hello there friend.", reasoning="Greet them."))
    runtime = make_runtime(anthropic_config(fake))
    request = ChatCompletionRequest(
        model="claude-sonnet", messages=[ChatMessage.system("Be kind."), ChatMessage.user("Hi")]
    )
    result = await runtime.chat("langgenius/anthropic/anthropic", request)
    assert (result.text, result.reasoning, result.finish_reason) == ("Hello there friend.", "Greet them.", "stop")
    assert result.usage.completion_tokens == 5 and result.usage.prompt_tokens > 0
    sent = fake.requests[-1].body
    assert sent["system"] == "Be kind." and sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]}
    ]
    assert sent["max_tokens"] == 4096 and sent["stream"] is True


async def test_tool_use_round_trip(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("claude-sonnet", Scenario(text="", tool_calls=[("get_weather", {"city": "Sapporo"})]))
    runtime = make_runtime(anthropic_config(fake))
    tool = ToolDefinition(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})
    result = await runtime.chat(
        "anthropic",
        ChatCompletionRequest(
            model="claude-sonnet", messages=[ChatMessage.user("weather?")], tools=[tool], tool_choice="required"
        ),
    )
    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("toolu_0", "get_weather", {"city": "Sapporo"})
    ]
    assert fake.requests[-1].body["tool_choice"] == {"type": "any"}
    assert fake.requests[-1].body["tools"][0]["input_schema"]["properties"]["city"] == {"type": "string"}

    follow_up = [
        ChatMessage.user([TextPart(text="weather?"), ImagePart(url="data:image/png;base64,iVBORw0KGgo=")]),
        ChatMessage.assistant(tool_calls=[ToolCall(id="toolu_0", name="get_weather", arguments='{"city": "Sapporo"}')]),
        ChatMessage.tool("toolu_0", "snow"),
    ]
    await runtime.chat("anthropic", ChatCompletionRequest(model="claude-sonnet", messages=follow_up))
    wire = fake.requests[-1].body["messages"]
    assert wire[0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert wire[1]["content"] == [
        {"type": "tool_use", "id": "toolu_0", "name": "get_weather", "input": {"city": "Sapporo"}}
    ]
    assert wire[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": "snow"}],
    }


async def test_rate_limit_is_rate_limit_error(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("claude-sonnet", Scenario(status=429, error_message="Number of requests has exceeded your limit."))
    runtime = make_runtime(anthropic_config(fake))
    try:
        await runtime.chat("anthropic", ChatCompletionRequest(model="claude-sonnet", messages=[ChatMessage.user("hi")]))
    except ProviderRateLimited as error:
        assert "exceeded your limit" in error.message
        assert (error.code, error.status) == ("rate_limit_error", 429)
    else:
        raise AssertionError("expected rate_limit_error")


async def test_bad_key_is_provider_not_initialize_without_the_key(fake: FakeOpenAI, make_runtime) -> None:
    wrong = "sk-ant-wrong-0123456789ABCDEF"
    runtime = make_runtime(anthropic_config(fake, key=wrong))
    try:
        await runtime.chat("anthropic", ChatCompletionRequest(model="claude-sonnet", messages=[ChatMessage.user("hi")]))
    except ProviderNotInitialized as error:
        assert wrong not in error.message and wrong[-8:] not in error.message
    else:
        raise AssertionError("expected provider_not_initialize")


async def test_overloaded_is_unavailable_503_and_retried(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("claude-sonnet", Scenario(text="back again", status=529, fail_times=1, error_message="Overloaded"))
    config = anthropic_config(fake).model_copy(update={"max_retries": 1, "retry_backoff_s": 0.01})
    result = await make_runtime(config).chat(
        "anthropic", ChatCompletionRequest(model="claude-sonnet", messages=[ChatMessage.user("hi")])
    )
    assert result.text == "back again"
    assert len(fake.requests) == 2


async def test_a_hang_before_headers_is_bounded_by_the_call_deadline(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("claude-sonnet", Scenario(hang_before_headers_s=30))
    config = anthropic_config(fake).model_copy(
        update={"max_retries": 3, "retry_backoff_s": 0.01, "call_deadline_s": 1.0}
    )
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        await make_runtime(config).chat(
            "anthropic", ChatCompletionRequest(model="claude-sonnet", messages=[ChatMessage.user("hi")])
        )
    assert (caught.value.code, caught.value.status) == ("completion_request_error", 503)
    assert time.monotonic() - started < 2

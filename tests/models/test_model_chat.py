"""Chat through the OpenAI-compatible provider: the real `openai` SDK against the fake upstream over real HTTP."""

from __future__ import annotations

import json
from decimal import Decimal

from fakes.openai_server import FakeOpenAI, Scenario
from model_support import upstream_config

from kawa.models.types import (
    ChatCompletionRequest,
    ChatMessage,
    CompletionParams,
    ImagePart,
    ResponseFormat,
    TextPart,
    ToolDefinition,
)


def ask(text: str, model: str = "gpt-4o-mini", **kwargs: object) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model=model, messages=[ChatMessage.system("Be brief."), ChatMessage.user(text)], **kwargs
    )  # type: ignore[arg-type]


async def test_stream_relays_deltas_in_order_and_ends_with_usage(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="The capital of France is Paris."))
    runtime = make_runtime(upstream_config(fake))
    chunks = [c async for c in runtime.chat_stream("langgenius/openai/openai", ask("Capital of France?"))]
    texts = [c.text for c in chunks if c.text]
    assert len(texts) == 6
    assert "".join(texts) == "The capital of France is Paris."
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + 6
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]


async def test_usage_is_priced_from_the_price_table_as_decimal_strings(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three four"))
    prices = {"openai/gpt-4o-mini": {"input": "0.15", "output": "0.60", "unit": "0.000001"}}
    config = upstream_config(fake, prices=prices)
    result = await make_runtime(config).chat("openai", ask("count"))
    usage = result.usage.model_dump(mode="json")
    assert usage["completion_tokens"] == 4
    assert usage["completion_unit_price"] == "0.60"
    assert usage["completion_price_unit"] == "0.000001"
    assert usage["completion_price"] == "0.0000024"
    assert Decimal(usage["total_price"]) == Decimal(usage["prompt_price"]) + Decimal("0.0000024")
    assert usage["currency"] == "USD"
    assert usage["latency"] >= 0 and usage["time_to_first_token"] is not None


async def test_unpriced_model_reports_zero_prices_like_dify(fake: FakeOpenAI, make_runtime) -> None:
    result = await make_runtime(upstream_config(fake)).chat("openai", ask("hi"))
    usage = result.usage.model_dump(mode="json")
    assert (usage["prompt_price"], usage["total_price"], usage["currency"]) == ("0.0", "0.0", "USD")


async def test_usage_is_estimated_when_the_upstream_sends_none(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="a fairly long answer with several words in it", omit_usage=True))
    result = await make_runtime(upstream_config(fake)).chat("openai", ask("hi"))
    assert result.usage.completion_tokens > 0 and result.usage.prompt_tokens > 0


async def test_tool_call_fragments_are_assembled(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="", tool_calls=[("get_weather", {"city": "Tokyo", "unit": "c"})]))
    tool = ToolDefinition(
        name="get_weather",
        description="Weather of a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    result = await make_runtime(upstream_config(fake)).chat("openai", ask("weather?", tools=[tool], tool_choice="auto"))
    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("call_0", "get_weather", {"city": "Tokyo", "unit": "c"})
    ]
    sent = fake.requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == "auto"


async def test_tool_results_go_back_as_tool_messages(fake: FakeOpenAI, make_runtime) -> None:
    from kawa.models.types import ToolCall

    messages = [
        ChatMessage.user("weather?"),
        ChatMessage.assistant(tool_calls=[ToolCall(id="call_0", name="get_weather", arguments='{"city":"Tokyo"}')]),
        ChatMessage.tool("call_0", "sunny"),
    ]
    await make_runtime(upstream_config(fake)).chat(
        "openai", ChatCompletionRequest(model="gpt-4o-mini", messages=messages)
    )
    wire = fake.requests[-1].body["messages"]
    assert wire[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city":"Tokyo"}'}
    assert wire[2] == {"role": "tool", "content": "sunny", "tool_call_id": "call_0"}


async def test_reasoning_content_is_kept_apart_from_text(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("deepseek-reasoner", Scenario(text="42", reasoning="Six times seven."))
    result = await make_runtime(upstream_config(fake)).chat("openai", ask("?", model="deepseek-reasoner"))
    assert (result.reasoning, result.text) == ("Six times seven.", "42")


async def test_completion_params_stop_words_and_json_schema_reach_the_wire(fake: FakeOpenAI, make_runtime) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    params = CompletionParams(
        temperature=0.2,
        top_p=0.9,
        max_tokens=64,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        seed=7,
        stop=["\nHuman:"],
        repetition_penalty=1.1,
    )
    request = ask("name?", params=params, response_format=ResponseFormat(type="json_schema", json_schema=schema))
    await make_runtime(upstream_config(fake)).chat("openai", request)
    sent = fake.requests[-1].body
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"], sent["seed"]) == (0.2, 0.9, 64, 7)
    assert (sent["presence_penalty"], sent["frequency_penalty"]) == (0.1, 0.2)
    assert sent["stop"] == ["\nHuman:"]
    assert sent["repetition_penalty"] == 1.1
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": False},
    }
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


async def test_vision_parts_are_sent_as_image_urls(fake: FakeOpenAI, make_runtime) -> None:
    content = [TextPart(text="What is this?"), ImagePart(url="data:image/png;base64,iVBORw0KGgo=", detail="low")]
    request = ChatCompletionRequest(model="gpt-4o-mini", messages=[ChatMessage.user(content)])
    await make_runtime(upstream_config(fake)).chat("openai", request)
    assert fake.requests[-1].body["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
    ]


async def test_api_key_is_sent_as_bearer_token(fake: FakeOpenAI, make_runtime) -> None:
    from model_support import API_KEY

    await make_runtime(upstream_config(fake)).chat("openai", ask("hi"))
    assert fake.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"

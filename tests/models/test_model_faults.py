"""Upstream failures end with Dify's error codes, the upstream's message, no secret, and nothing left running."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from model_support import API_KEY, upstream_config

from kawa.errors import (
    CompletionRequestError,
    KawaError,
    ModelNotSupported,
    ProviderNotInitialized,
    ProviderQuotaExceeded,
)
from kawa.models import ChatCompletionRequest, ChatMessage, ModelsSettings


def ask(model: str = "gpt-4o-mini") -> ChatCompletionRequest:
    return ChatCompletionRequest(model=model, messages=[ChatMessage.user("Tell me a story.")])


async def collect(runtime, request: ChatCompletionRequest) -> tuple[str, KawaError | None]:
    text = ""
    try:
        async with aclosing(runtime.chat_stream("openai", request)) as chunks:
            async for chunk in chunks:
                text += chunk.text
    except KawaError as error:
        return text, error
    return text, None


async def test_error_mid_stream_is_completion_request_error_after_output(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model(
        "gpt-4o-mini",
        Scenario(
            text="one two three four five",
            error_after_chunks=2,
            error_message="The server had an error while processing your request.",
        ),
    )
    text, error = await collect(make_runtime(upstream_config(fake, max_retries=3)), ask())
    assert text == "one two"
    assert isinstance(error, CompletionRequestError)
    assert error.code == "completion_request_error"
    assert "The server had an error while processing your request." in error.message
    assert len(fake.requests) == 1  # never retried once output was relayed


async def test_stall_past_the_timeout_is_completion_request_error(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three", stall_after_chunks=1, stall_s=30))
    started = time.monotonic()
    text, error = await collect(make_runtime(upstream_config(fake, timeout_s=0.5)), ask())
    assert isinstance(error, CompletionRequestError)
    assert "timeout" in error.message
    assert text == "one"
    assert time.monotonic() - started < 5
    assert fake.wait_stream_ended().client_closed


async def test_429_is_provider_quota_exceeded_with_the_upstream_message(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, error_message="Rate limit reached for gpt-4o-mini."))
    _, error = await collect(make_runtime(upstream_config(fake, max_retries=1)), ask())
    assert isinstance(error, ProviderQuotaExceeded)
    assert error.code == "provider_quota_exceeded" and error.status == 400
    assert "Rate limit reached for gpt-4o-mini." in error.message
    assert len(fake.requests) == 2  # one retry with backoff


async def test_retryable_failure_before_output_is_retried_then_succeeds(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="recovered", status=503, fail_times=2))
    text, error = await collect(make_runtime(upstream_config(fake, max_retries=2)), ask())
    assert (text, error) == ("recovered", None)
    assert len(fake.requests) == 3


async def test_insufficient_quota_is_not_retried(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model(
        "gpt-4o-mini",
        Scenario(status=429, error_code="insufficient_quota", error_message="You exceeded your current quota."),
    )
    _, error = await collect(make_runtime(upstream_config(fake, max_retries=3)), ask())
    assert isinstance(error, ProviderQuotaExceeded)
    assert len(fake.requests) == 1


async def test_500_before_output_is_completion_request_error(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=500, error_message="Internal upstream failure"))
    _, error = await collect(make_runtime(upstream_config(fake)), ask())
    assert isinstance(error, CompletionRequestError)
    assert "Internal upstream failure" in error.message
    assert "Traceback" not in error.message


async def test_malformed_chunk_is_completion_request_error(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three", malformed_after_chunks=1))
    text, error = await collect(make_runtime(upstream_config(fake)), ask())
    assert text == "one"
    assert isinstance(error, CompletionRequestError)
    assert "Malformed" in error.message


async def test_bad_key_is_provider_not_initialize_and_never_shown(fake: FakeOpenAI, make_runtime, caplog) -> None:
    wrong_key = "sk-wrong-key-ABCDEFGHIJKLMNOP"
    config = upstream_config(fake)
    config.providers["openai"].api_key = type(config.providers["openai"].api_key)(wrong_key)  # type: ignore[misc]
    _, error = await collect(make_runtime(config), ask())
    assert isinstance(error, ProviderNotInitialized)
    assert "Incorrect API key provided" in error.message
    for secret in (wrong_key, wrong_key[:8], wrong_key[-8:], API_KEY):
        assert secret not in error.message
        assert secret not in caplog.text
    assert wrong_key not in repr(config) and wrong_key not in config.model_dump_json()


async def test_client_stop_closes_the_upstream_stream_at_once(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text=" ".join(["word"] * 400), chunk_delay_s=0.02))
    runtime = make_runtime(upstream_config(fake))
    first_chunks = asyncio.Event()
    received = 0

    async def consume() -> None:
        nonlocal received
        async with aclosing(runtime.chat_stream("openai", ask())) as chunks:
            async for _ in chunks:
                received += 1
                if received == 3:
                    first_chunks.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunks.wait(), 5)
    stopped_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stream = await asyncio.to_thread(fake.wait_stream_ended, 2.0)
    assert stream.client_closed and not stream.completed
    assert stream.ended_at is not None and stream.ended_at - stopped_at < 0.5
    assert stream.chunks_sent < 20
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and "chat_stream" in repr(t)]
    assert leftovers == []


async def test_model_not_offered_is_model_currently_not_support(fake: FakeOpenAI, make_runtime) -> None:
    config = upstream_config(fake)
    config.providers["openai"].models = ["gpt-4o-mini"]
    with pytest.raises(ModelNotSupported) as info:
        await make_runtime(config).chat("openai", ask("gpt-9"))
    assert info.value.code == "model_currently_not_support"


async def test_upstream_404_for_a_model_is_model_currently_not_support(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model(
        "gpt-9", Scenario(status=404, error_code="model_not_found", error_message="The model `gpt-9` does not exist.")
    )
    _, error = await collect(make_runtime(upstream_config(fake)), ask("gpt-9"))
    assert isinstance(error, ModelNotSupported)


async def test_no_provider_at_all_is_provider_not_initialize(make_runtime) -> None:
    runtime = make_runtime(ModelsSettings.model_validate({"embedded": {"chat": False}}))
    with pytest.raises(ProviderNotInitialized) as info:
        await runtime.chat("langgenius/openai/openai", ask())
    assert info.value.code == "provider_not_initialize" and info.value.status == 400


async def test_unreachable_upstream_is_completion_request_error(make_runtime) -> None:
    config = ModelsSettings.model_validate(
        {
            "providers": {"openai": {"base_url": "http://127.0.0.1:9/v1", "api_key": API_KEY}},
            "max_retries": 0,
            "embedded": {"chat": False},
        }
    )
    with pytest.raises(CompletionRequestError) as info:
        await make_runtime(config).chat("openai", ask())
    assert API_KEY not in info.value.message

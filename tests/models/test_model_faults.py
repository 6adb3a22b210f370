"""Upstream failures end with Dify's error codes, the upstream's message, no secret, and nothing left running."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
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
    ProviderRateLimited,
    ProviderUnavailable,
)
from kawa.models.provider import Capability, ModelProvider
from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings
from kawa.models.types import ChatChunk, ChatCompletionRequest, ChatMessage


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


async def test_429_is_rate_limit_error_429_with_the_upstream_message(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, error_message="Rate limit reached for gpt-4o-mini."))
    _, error = await collect(make_runtime(upstream_config(fake, max_retries=1)), ask())
    assert isinstance(error, ProviderRateLimited)
    assert (error.code, error.status) == ("rate_limit_error", 429)
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
    assert (error.code, error.status) == ("provider_quota_exceeded", 400)
    assert len(fake.requests) == 1


async def test_500_before_output_is_completion_request_error_503(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=500, error_message="Internal upstream failure"))
    _, error = await collect(make_runtime(upstream_config(fake)), ask())
    assert isinstance(error, ProviderUnavailable)
    assert (error.code, error.status) == ("completion_request_error", 503)
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


async def test_invalid_request_is_completion_request_error_400_and_not_retried(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=400, error_message="'messages' must not be empty."))
    _, error = await collect(make_runtime(upstream_config(fake, max_retries=3)), ask())
    assert type(error) is CompletionRequestError
    assert (error.code, error.status) == ("completion_request_error", 400)
    assert "'messages' must not be empty." in error.message
    assert len(fake.requests) == 1


async def test_retry_after_of_a_429_is_waited_for(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="after the wait", status=429, fail_times=1, retry_after_s=0.6))
    started = time.monotonic()
    text, error = await collect(make_runtime(upstream_config(fake, max_retries=2, retry_backoff_s=0.01)), ask())
    assert (text, error) == ("after the wait", None)
    assert time.monotonic() - started >= 0.6
    assert len(fake.requests) == 2


async def test_a_retry_after_past_the_deadline_fails_at_once(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, retry_after_s=30, error_message="Slow down."))
    started = time.monotonic()
    _, error = await collect(make_runtime(upstream_config(fake, max_retries=3, call_deadline_s=5)), ask())
    assert isinstance(error, ProviderRateLimited) and error.status == 429
    assert time.monotonic() - started < 1
    assert len(fake.requests) == 1


async def test_a_hang_before_headers_is_bounded_by_the_call_deadline_across_retries(
    fake: FakeOpenAI, make_runtime
) -> None:
    # Each try may wait 1 s for a byte; three tries would be 3 s and more. The call's deadline cuts it at 1.5 s.
    fake.on_model("gpt-4o-mini", Scenario(hang_before_headers_s=30))
    config = upstream_config(fake, timeout_s=1.0, max_retries=2, retry_backoff_s=0.01, call_deadline_s=1.5)
    started = time.monotonic()
    text, error = await collect(make_runtime(config), ask())
    elapsed = time.monotonic() - started
    assert text == ""
    assert isinstance(error, ProviderUnavailable)
    assert (error.code, error.status) == ("completion_request_error", 503)
    assert "did not answer within 1.5 s (2 tries)" in error.message
    assert 1.4 < elapsed < 2.5
    assert len(fake.requests) == 2


async def test_the_call_deadline_does_not_cut_an_answer_that_is_streaming(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text=" ".join(["word"] * 30), chunk_delay_s=0.05))
    text, error = await collect(make_runtime(upstream_config(fake, call_deadline_s=0.5)), ask())
    assert error is None
    assert text == " ".join(["word"] * 30)


async def test_a_stream_cut_mid_answer_is_unavailable_after_its_output(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three four", drop_after_chunks=2))
    text, error = await collect(make_runtime(upstream_config(fake, max_retries=2)), ask())
    assert text == "one two"
    assert isinstance(error, ProviderUnavailable)
    assert "cut the stream" in error.message
    assert len(fake.requests) == 1  # output was relayed: never retried


async def test_a_stall_mid_stream_is_unavailable_503(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three", stall_after_chunks=2, stall_s=30))
    text, error = await collect(make_runtime(upstream_config(fake, timeout_s=0.5)), ask())
    assert text == "one two"
    assert isinstance(error, ProviderUnavailable) and error.status == 503


class SlowLocalModel(ModelProvider):
    """An in-process model whose prompt takes a while before the first token (a long prompt on a CPU)."""

    name = "local"
    capabilities = frozenset({Capability.CHAT})

    def __init__(self, *, in_process: bool) -> None:
        self.in_process = in_process

    async def chat_stream(self, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]:
        await asyncio.sleep(0.8)
        yield ChatChunk(text="done", finish_reason="stop")


@pytest.mark.parametrize("in_process", [True, False])
async def test_the_call_deadline_bounds_remote_providers_only(fake: FakeOpenAI, in_process: bool) -> None:
    config = upstream_config(fake, call_deadline_s=0.3, default_chat_model="local/any")
    runtime = ModelRuntime(config, providers={"local": SlowLocalModel(in_process=in_process)})
    try:
        result = await runtime.chat("local", ask("any"))
    except ProviderUnavailable as error:
        assert not in_process, error.message
        assert "did not answer within 0.3 s" in error.message
    else:
        assert in_process
        assert result.text == "done"
    finally:
        await runtime.aclose()

"""Streaming, stop, retrieval events and upstream failures of the plain chat pipeline."""

from __future__ import annotations

import asyncio
import time

import pytest
from easy_ui_support import chat_config, deltas, finished, make_request, run
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.apps.modes.easy_ui import (
    AppUnavailable,
    MessageDelta,
    PipelineFinished,
    RetrievedSegment,
    RetrieverResources,
    run_pipeline,
)
from kawa.errors import CompletionRequestError, ModelNotSupported, ProviderNotInitialized, ProviderRateLimited


async def test_answer_streams_as_one_delta_per_upstream_chunk(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="The sky is blue today."))
    events = await run(make_request(chat_config()), models)
    assert deltas(events) == ["The", " sky", " is", " blue", " today."]
    result = finished(events)
    assert result.answer == "The sky is blue today."
    assert result.finish_reason == "stop"
    assert result.usage.completion_tokens == 5
    assert result.usage.total_tokens == result.usage.prompt_tokens + 5


async def test_stop_mid_stream_closes_the_upstream_and_keeps_the_partial_answer(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three four five six seven eight", chunk_delay_s=0.5))
    stop = asyncio.Event()
    events = []
    stopped_at = 0.0
    async for event in run_pipeline(make_request(chat_config()), models=models, retriever=None, stop=stop):
        events.append(event)
        if len(deltas(events)) == 2 and not stop.is_set():
            stop.set()
            stopped_at = time.monotonic()
    assert time.monotonic() - stopped_at < 0.4  # well before the next chunk was due
    result = finished(events)
    assert result.answer == "one two"
    assert result.finish_reason == "stopped"
    assert result.usage.completion_tokens > 0
    record = await asyncio.to_thread(fake.wait_stream_ended)
    assert record.client_closed and not record.completed


async def test_stop_before_any_output_finishes_with_an_empty_answer(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="never seen", stall_after_chunks=0, stall_s=10))
    stop = asyncio.Event()

    async def press_stop() -> None:
        await asyncio.sleep(0.2)
        stop.set()

    presser = asyncio.create_task(press_stop())
    events = await run(make_request(chat_config()), models, stop=stop)
    await presser
    assert (finished(events).answer, finished(events).finish_reason) == ("", "stopped")


async def test_retriever_resources_are_reported_when_the_app_shows_them(fake: FakeOpenAI, models) -> None:
    segment = RetrievedSegment(1, "ds-1", "FAQ", "doc-1", "faq.md", "seg-1", 0.8, "Opening hours are 9-5.")

    async def retriever(dataset_ids, query, config):
        return [segment]

    datasets = {"datasets": {"datasets": [{"dataset": {"enabled": True, "id": "ds-1"}}]}}
    shown = chat_config(dataset_configs=datasets, retriever_resource={"enabled": True})
    events = await run(make_request(shown, "When are you open?"), models, retriever=retriever)
    assert [e for e in events if isinstance(e, RetrieverResources)] == [RetrieverResources([segment])]
    assert isinstance(events[0], RetrieverResources) and isinstance(events[1], MessageDelta)

    hidden = chat_config(dataset_configs=datasets, retriever_resource={"enabled": False})
    events = await run(make_request(hidden, "When are you open?"), models, retriever=retriever)
    assert not [e for e in events if isinstance(e, RetrieverResources)]


async def test_completion_apps_search_with_the_dataset_query_variable(fake: FakeOpenAI, models) -> None:
    queries: list[str] = []

    async def retriever(dataset_ids, query, config):
        queries.append(query)
        return []

    config = chat_config(
        "Summarise {{topic}}.",
        dataset_query_variable="topic",
        dataset_configs={"datasets": {"datasets": [{"dataset": {"enabled": True, "id": "d"}}]}},
    )
    await run(
        make_request(config, "", mode="completion", inputs={"topic": "solar panels"}), models, retriever=retriever
    )
    assert queries == ["solar panels"]


async def test_datasets_without_a_retriever_fail_clearly(fake: FakeOpenAI, models) -> None:
    config = chat_config(dataset_configs={"datasets": {"datasets": [{"dataset": {"enabled": True, "id": "d"}}]}})
    with pytest.raises(AppUnavailable, match="knowledge retrieval is not available") as caught:
        await run(make_request(config), models)
    assert caught.value.code == "app_unavailable"
    assert fake.requests == []


async def test_upstream_429_is_rate_limit_error(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, error_message="Rate limit reached for gpt-4o-mini."))
    with pytest.raises(ProviderRateLimited) as caught:
        await run(make_request(chat_config()), models)
    assert (caught.value.code, caught.value.status) == ("rate_limit_error", 429)
    assert "Rate limit reached" in caught.value.message


async def test_upstream_error_mid_stream_is_completion_request_error(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="one two three", error_after_chunks=1, error_message="Boom."))
    seen = []
    with pytest.raises(CompletionRequestError, match=r"Boom\."):
        async for event in run_pipeline(
            make_request(chat_config()), models=models, retriever=None, stop=asyncio.Event()
        ):
            seen.append(event)
    assert deltas(seen) == ["one"]
    assert not any(isinstance(e, PipelineFinished) for e in seen)


async def test_unknown_model_of_a_restricted_provider_is_model_not_supported(fake: FakeOpenAI, models) -> None:
    models.config.providers["openai"].models = ["gpt-4o-mini"]
    try:
        with pytest.raises(ModelNotSupported):
            await run(make_request(chat_config(model="gpt-9")), models)
    finally:
        models.config.providers["openai"].models = []


async def test_an_unconfigured_provider_is_provider_not_initialize(fake: FakeOpenAI, models) -> None:
    config = chat_config()
    config["model"]["provider"] = "langgenius/anthropic/anthropic"
    with pytest.raises(ProviderNotInitialized) as caught:
        await run(make_request(config), models)
    assert caught.value.code == "provider_not_initialize"


async def test_a_model_config_without_a_model_is_app_unavailable(models) -> None:
    with pytest.raises(AppUnavailable):
        await run(make_request({"pre_prompt": "hi"}), models)

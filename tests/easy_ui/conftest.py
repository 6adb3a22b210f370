"""Fixtures of the easy-UI pipeline tests: a fake OpenAI-compatible upstream on loopback and a real ModelRuntime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from easy_ui_support import API_KEY
from fakes.openai_server import FakeOpenAI

from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings


@pytest.fixture(scope="session")
def easy_ui_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(easy_ui_upstream: FakeOpenAI) -> FakeOpenAI:
    easy_ui_upstream.reset()
    return easy_ui_upstream


@pytest.fixture
async def models(easy_ui_upstream: FakeOpenAI) -> AsyncIterator[ModelRuntime]:
    config = ModelsSettings.model_validate(
        {
            "providers": {"openai": {"base_url": easy_ui_upstream.base_url, "api_key": API_KEY}},
            "timeout_s": 5.0,
            "max_retries": 0,
            "embedded": {"enabled": False},
        }
    )
    runtime = ModelRuntime(config)
    yield runtime
    await runtime.aclose()

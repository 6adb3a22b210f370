"""Fixtures of the model runtime tests: one fake OpenAI-compatible upstream on loopback for the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAI

from kawa.models import ModelRuntime, ModelsConfig

API_KEY = "sk-test-0123456789abcdefSECRET"


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(fake_upstream: FakeOpenAI) -> FakeOpenAI:
    fake_upstream.reset()
    return fake_upstream


def upstream_config(fake: FakeOpenAI, **overrides: Any) -> ModelsConfig:
    """A config with the fake as provider `openai` (also serving Dify's `langgenius/openai/openai` id)."""
    data: dict[str, Any] = {
        "providers": {"openai": {"base_url": fake.base_url, "api_key": API_KEY}},
        "timeout_s": 2.0,
        "max_retries": 0,
        "retry_backoff_s": 0.01,
        "embedded": {"chat": False},
    }
    data.update(overrides)
    return ModelsConfig.model_validate(data)


@pytest.fixture
async def make_runtime() -> AsyncIterator[Callable[[ModelsConfig], ModelRuntime]]:
    made: list[ModelRuntime] = []

    def make(config: ModelsConfig) -> ModelRuntime:
        runtime = ModelRuntime(config)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.aclose()

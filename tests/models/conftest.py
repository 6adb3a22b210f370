"""Fixtures of the model runtime tests: one fake OpenAI-compatible upstream on loopback for the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from fakes.openai_server import FakeOpenAI
from model_support import API_KEY, upstream_config  # noqa: F401 - re-exported for fixtures

from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(fake_upstream: FakeOpenAI) -> FakeOpenAI:
    fake_upstream.reset()
    return fake_upstream


@pytest.fixture
async def make_runtime() -> AsyncIterator[Callable[[ModelsSettings], ModelRuntime]]:
    made: list[ModelRuntime] = []

    def make(config: ModelsSettings) -> ModelRuntime:
        runtime = ModelRuntime(config)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.aclose()

"""A real sandbox for the whole session: two python3 workers, one javascript worker, short limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings


@pytest.fixture(scope="session")
async def sandbox() -> AsyncIterator[CodeSandbox]:
    config = SandboxSettings(python_workers=2, javascript_workers=1, timeout_s=5, memory_mb=256)
    async with CodeSandbox(config) as running:
        await running.wait_ready()
        yield running

"""`upstream_models()`: the `models` settings section that points kawa at a loopback fake model server.

Tests that run apps against `tests/fakes/openai_server.FakeOpenAI` all want the same thing: its URL and key as the
`openai` provider, no retries (a fault must show at once), and no embedded chat model to fall back on.
"""

from __future__ import annotations

from typing import Any

from fakes.openai_server import FakeOpenAI


def upstream_models(upstream: FakeOpenAI, **overrides: Any) -> dict[str, Any]:
    """`KAWA_MODELS` for a server whose `openai` provider is `upstream`; `overrides` set or replace keys."""
    models: dict[str, Any] = {
        "providers": {"openai": {"base_url": upstream.base_url, "api_key": upstream.api_key}},
        "max_retries": 0,
        "embedded": {"chat": False},
    }
    models.update(overrides)
    return models

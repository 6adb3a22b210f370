"""Shared pieces of the model runtime tests (a module name of their own: `conftest` is ambiguous across folders)."""

from __future__ import annotations

from typing import Any

from fakes.openai_server import FakeOpenAI

from kawa.models.settings import ModelsSettings

API_KEY = "sk-test-0123456789abcdefSECRET"


def upstream_config(fake: FakeOpenAI, **overrides: Any) -> ModelsSettings:
    """A config with the fake as provider `openai` (also serving Dify's `langgenius/openai/openai` id)."""
    data: dict[str, Any] = {
        "providers": {"openai": {"base_url": fake.base_url, "api_key": API_KEY}},
        "timeout_s": 2.0,
        "max_retries": 0,
        "retry_backoff_s": 0.01,
        "embedded": {"chat": False},
    }
    data.update(overrides)
    return ModelsSettings.model_validate(data)

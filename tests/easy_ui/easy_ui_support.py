"""Helpers of the easy-UI tests: DSL model_configs like the fixtures', requests, and running a pipeline."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from kawa.apps.modes.easy_ui import (
    CitationRetriever,
    EasyUIRequest,
    HistoryTurn,
    MessageDelta,
    PipelineEvent,
    PipelineFinished,
    run_pipeline,
)
from kawa.models.registry import ModelRuntime

API_KEY = "sk-easy-ui-0123456789abcdef"
DSL = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"


def fixture_config(name: str) -> dict[str, Any]:
    """The model_config of a fixture DSL file, e.g. `chat-assistant.yml`."""
    document = yaml.safe_load((DSL / name).read_text())
    return copy.deepcopy(document["model_config"])


def chat_config(pre_prompt: str = "You are helpful.", model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model": {
            "provider": "langgenius/openai/openai",
            "name": model,
            "mode": "chat",
            "completion_params": {"temperature": 0.3},
        },
        "pre_prompt": pre_prompt,
        "prompt_type": "simple",
    }
    config.update(extra)
    return config


def make_request(
    model_config: Mapping[str, Any],
    query: str = "Hello?",
    *,
    mode: str = "chat",
    inputs: Mapping[str, Any] | None = None,
    history: Sequence[HistoryTurn] = (),
    files: Sequence[Mapping[str, Any]] = (),
) -> EasyUIRequest:
    return EasyUIRequest(
        mode=mode,
        model_config=model_config,
        query=query,
        inputs=inputs or {},  # type: ignore[arg-type]
        files=files,
        history=history,
        user="user-1",
    )


async def run(
    request: EasyUIRequest,
    models: ModelRuntime,
    *,
    retriever: CitationRetriever | None = None,
    stop: asyncio.Event | None = None,
) -> list[PipelineEvent]:
    return [e async for e in run_pipeline(request, models=models, retriever=retriever, stop=stop or asyncio.Event())]


def deltas(events: Sequence[PipelineEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, MessageDelta)]


def finished(events: Sequence[PipelineEvent]) -> PipelineFinished:
    last = events[-1]
    assert isinstance(last, PipelineFinished)
    return last

"""History is pruned by the model's real context window (setting, then the built-in family table), and a prompt
that alone exceeds the window fails with Dify's error before any upstream call: never silently without history."""

from __future__ import annotations

import pytest
from easy_ui_support import API_KEY, chat_config, make_request, run
from fakes.openai_server import FakeOpenAI

from kawa.apps.modes.easy_ui import HistoryTurn
from kawa.apps.modes.easy_ui.prompt import PromptTooLong
from kawa.models.context_windows import DEFAULT_CONTEXT_TOKENS, context_window, known_context_window
from kawa.models.registry import ModelRuntime
from kawa.models.settings import ModelsSettings

LONG_PRE_PROMPT = ("You are the support assistant of a large product. " * 1000)[:47_000]
HISTORY = [HistoryTurn(f"question {i}", f"answer {i}") for i in range(5)]


def history_sent(fake: FakeOpenAI) -> list[str]:
    return [m["content"] for m in fake.requests[-1].body["messages"] if m["role"] == "user"][:-1]


@pytest.fixture
async def configured_models(easy_ui_upstream: FakeOpenAI):
    config = ModelsSettings.model_validate(
        {
            "providers": {"openai": {"base_url": easy_ui_upstream.base_url, "api_key": API_KEY}},
            "context_sizes": {"openai/house-200k": 200_000, "house-8k": 8192},
            "max_retries": 0,
            "embedded": {"enabled": False},
        }
    )
    runtime = ModelRuntime(config)
    yield runtime
    await runtime.aclose()


async def test_a_47k_character_pre_prompt_keeps_history_with_a_200k_model(fake, configured_models) -> None:
    await run(
        make_request(chat_config(LONG_PRE_PROMPT, model="house-200k"), "now?", history=HISTORY), configured_models
    )
    assert history_sent(fake) == [f"question {i}" for i in range(5)]


async def test_a_known_family_gets_its_window_without_any_setting(fake, models) -> None:
    config = chat_config(LONG_PRE_PROMPT, model="claude-3-7-sonnet-20250219")
    await run(make_request(config, "now?", history=HISTORY), models)
    assert history_sent(fake) == [f"question {i}" for i in range(5)]


async def test_the_same_prompt_with_an_8k_model_fails_with_difys_error(fake, configured_models) -> None:
    with pytest.raises(PromptTooLong) as raised:
        await run(
            make_request(chat_config(LONG_PRE_PROMPT, model="house-8k"), "now?", history=HISTORY), configured_models
        )
    assert raised.value.code == "completion_request_error" and raised.value.status == 400
    assert raised.value.message.startswith("Query or prefix prompt is too long")
    assert fake.requests == []  # nothing was sent upstream


async def test_max_tokens_counts_against_the_window(fake, configured_models) -> None:
    config = chat_config("short", model="house-8k")
    config["model"]["completion_params"]["max_tokens"] = 9000
    with pytest.raises(PromptTooLong):
        await run(make_request(config, "hi"), configured_models)


def test_the_table_knows_the_common_families_by_their_longest_prefix() -> None:
    assert known_context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert known_context_window("gpt-4-0613") == 8192
    assert known_context_window("claude-3-5-haiku-latest") == 200_000
    assert known_context_window("llama3.2:3b") == 131_072
    assert known_context_window("meta-llama/Llama-3.1-8B-Instruct") == 131_072
    assert known_context_window("qwen2.5:7b") == 32_768
    assert known_context_window("gemma3:1b") == 32_768
    assert known_context_window("deepseek-chat") == 65_536
    assert known_context_window("mistral-large-latest") == 131_072
    assert known_context_window("my-own-finetune") is None


def test_a_setting_wins_over_the_table_and_unknown_models_get_the_default() -> None:
    assert context_window({"ollama/llama3.2": 4096}, "ollama", "llama3.2") == 4096
    assert context_window({"llama3.2": 16384}, "ollama", "llama3.2") == 16384
    assert context_window({}, "ollama", "llama3.2") == 131_072
    assert context_window({}, "ollama", "my-own-finetune") == DEFAULT_CONTEXT_TOKENS

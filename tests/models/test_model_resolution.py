"""Mapping an app's (Dify provider id, model) onto configured providers: ids, aliases, defaults, errors."""

from __future__ import annotations

import pytest
from fakes.openai_server import FakeOpenAI
from model_support import API_KEY, upstream_config

from kawa.errors import ModelNotSupported, ProviderNotInitialized
from kawa.models.registry import ModelRuntime, dify_provider_name
from kawa.models.settings import ModelsSettings
from kawa.models.types import ChatCompletionRequest, ChatMessage


def config(**overrides: object) -> ModelsSettings:
    data: dict = {
        "providers": {
            "openai": {"api_key": API_KEY, "models": ["gpt-4o-mini"]},
            "local": {"base_url": "http://127.0.0.1:11434/v1", "dify_ids": ["langgenius/ollama/ollama"]},
        },
        "embedded": {"chat": False},
    }
    data.update(overrides)
    return ModelsSettings.model_validate(data)


@pytest.mark.parametrize(
    ("dify_id", "short"),
    [
        ("langgenius/openai/openai", "openai"),
        ("openai", "openai"),
        ("langgenius/openai_api_compatible/openai_api_compatible", "openai_api_compatible"),
    ],
)
def test_dify_provider_ids_reduce_to_their_last_segment(dify_id: str, short: str) -> None:
    assert dify_provider_name(dify_id) == short


async def test_dify_ids_of_a_configured_provider_resolve_to_it() -> None:
    runtime = ModelRuntime(config())
    assert runtime.resolve_chat("langgenius/openai/openai", "gpt-4o-mini").provider_name == "openai"
    target = runtime.resolve_chat("langgenius/ollama/ollama", "llama3.2")
    assert (target.provider_name, target.model) == ("local", "llama3.2")
    await runtime.aclose()


async def test_aliases_map_models_and_whole_providers() -> None:
    runtime = ModelRuntime(
        config(
            aliases={
                "openai/gpt-4o": "local/qwen2.5",
                "langgenius/anthropic/anthropic/*": "local/*",
                "*/deepseek-chat": "openai/gpt-4o-mini",
            }
        )
    )
    assert runtime.resolve_chat("langgenius/openai/openai", "gpt-4o").model == "qwen2.5"
    claude = runtime.resolve_chat("langgenius/anthropic/anthropic", "claude-3-5-sonnet")
    assert (claude.provider_name, claude.model) == ("local", "claude-3-5-sonnet")
    assert runtime.resolve_chat("deepseek", "deepseek-chat").model == "gpt-4o-mini"
    await runtime.aclose()


async def test_the_default_model_serves_unconfigured_providers() -> None:
    runtime = ModelRuntime(config(default_chat_model="local/llama3.2"))
    target = runtime.resolve_chat("langgenius/zhipuai/zhipuai", "glm-4")
    assert (target.provider_name, target.model) == ("local", "llama3.2")
    await runtime.aclose()


async def test_unknown_provider_without_default_is_provider_not_initialize() -> None:
    runtime = ModelRuntime(config())
    with pytest.raises(ProviderNotInitialized):
        runtime.resolve_chat("langgenius/zhipuai/zhipuai", "glm-4")
    await runtime.aclose()


async def test_alias_to_an_unconfigured_provider_is_provider_not_initialize() -> None:
    runtime = ModelRuntime(config(aliases={"openai/gpt-4o": "groq/llama"}))
    with pytest.raises(ProviderNotInitialized):
        runtime.resolve_chat("openai", "gpt-4o")
    await runtime.aclose()


async def test_model_not_offered_by_the_provider_is_model_currently_not_support() -> None:
    runtime = ModelRuntime(config())
    with pytest.raises(ModelNotSupported):
        runtime.resolve_chat("openai", "gpt-3.5-turbo-instruct")
    await runtime.aclose()


async def test_embeddings_use_a_configured_provider_when_the_dataset_names_one(fake: FakeOpenAI, make_runtime) -> None:
    runtime = make_runtime(upstream_config(fake))
    result = await runtime.embed(["a", "b"], provider_id="langgenius/openai/openai", model="text-embedding-3-small")
    assert result.model == "openai/text-embedding-3-small"
    assert len(result.vectors) == 2 and result.usage.prompt_tokens == 2
    assert fake.requests[-1].body["model"] == "text-embedding-3-small"


async def test_remote_rerank_stt_tts_and_moderation_go_to_the_provider(fake: FakeOpenAI, make_runtime) -> None:
    runtime = make_runtime(upstream_config(fake))
    hits = await runtime.rerank(
        "refund policy", ["shipping times", "our refund policy"], provider_id="openai", model="bge-reranker", top_n=1
    )
    assert [h.index for h in hits] == [1]
    transcript = await runtime.transcribe(b"fake-audio", provider_id="openai", model="whisper-1")
    assert transcript.text == "This is the transcript."
    speech = await runtime.synthesize("hi", provider_id="openai", model="tts-1", voice="alloy")
    assert speech.audio.startswith(b"ID3") and speech.mime_type == "audio/mpeg"
    flagged = await runtime.moderate("I will kill the process", provider_id="openai", model="omni-moderation-latest")
    assert flagged.flagged and flagged.categories["violence"]


async def test_moderation_without_a_provider_is_provider_not_initialize() -> None:
    runtime = ModelRuntime(config(providers={}))
    with pytest.raises(ProviderNotInitialized):
        await runtime.moderate("hello")
    await runtime.aclose()


def test_secrets_stay_out_of_the_config_repr_and_dump() -> None:
    cfg = config()
    assert API_KEY not in repr(cfg) and API_KEY not in str(cfg.model_dump()) and API_KEY not in cfg.model_dump_json()


async def test_chat_through_an_alias_reaches_the_upstream_model(fake: FakeOpenAI, make_runtime) -> None:
    runtime = make_runtime(upstream_config(fake, aliases={"langgenius/anthropic/anthropic/*": "openai/gpt-4o-mini"}))
    await runtime.chat(
        "langgenius/anthropic/anthropic", ChatCompletionRequest(model="claude-3", messages=[ChatMessage.user("hi")])
    )
    assert fake.requests[-1].body["model"] == "gpt-4o-mini"

"""How many tokens a chat model takes in (its context window): a `context_sizes` setting per model, else a built-in
table of well-known families, else `DEFAULT_CONTEXT_TOKENS`.

The table matches the upstream model name (after aliases) by its longest known prefix, case-insensitively, so
`gpt-4o-mini-2024-07-18` is `gpt-4o-mini` and `llama3.2:3b` is `llama3.2`. Figures are the vendors' published
windows; a deployment that serves a smaller one (Ollama's default 4k/8k `num_ctx`, a quantised server) says so
with `context_sizes`.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_CONTEXT_TOKENS = 8192
_K = 1024

KNOWN_CONTEXT_WINDOWS: Mapping[str, int] = {
    # OpenAI
    "gpt-3.5-turbo": 16385,
    "gpt-3.5-turbo-instruct": 4096,
    "gpt-4": 8192,
    "gpt-4-32k": 32768,
    "gpt-4-turbo": 128000,
    "gpt-4-1106": 128000,
    "gpt-4-0125": 128000,
    "gpt-4o": 128000,
    "gpt-4o-mini": 128000,
    "chatgpt-4o": 128000,
    "gpt-4.1": 1047576,
    "gpt-4.5": 128000,
    "gpt-5": 400000,
    "o1": 200000,
    "o1-mini": 128000,
    "o3": 200000,
    "o3-mini": 200000,
    "o4-mini": 200000,
    "gpt-oss": 131072,
    # Anthropic
    "claude-2": 100000,
    "claude-2.1": 200000,
    "claude-3": 200000,
    "claude-3-5": 200000,
    "claude-3-7": 200000,
    "claude-sonnet-4": 200000,
    "claude-opus-4": 200000,
    "claude-haiku-4": 200000,
    "claude-instant": 100000,
    # Google
    "gemini-1.0-pro": 32760,
    "gemini-1.5-pro": 2097152,
    "gemini-1.5-flash": 1048576,
    "gemini-2.0-flash": 1048576,
    "gemini-2.5": 1048576,
    "gemma": 8192,
    "gemma2": 8192,
    "gemma-2": 8192,
    "gemma3": 128 * _K,
    "gemma-3": 128 * _K,
    "gemma3:1b": 32 * _K,
    # Meta Llama (Ollama and Hugging Face spellings)
    "llama2": 4096,
    "llama-2": 4096,
    "llama3": 8192,
    "llama-3": 8192,
    "meta-llama-3": 8192,
    "llama3.1": 128 * _K,
    "llama-3.1": 128 * _K,
    "meta-llama-3.1": 128 * _K,
    "llama3.2": 128 * _K,
    "llama-3.2": 128 * _K,
    "llama3.3": 128 * _K,
    "llama-3.3": 128 * _K,
    "llama4": 1048576,
    "llama-4": 1048576,
    # Qwen
    "qwen": 8192,
    "qwen-turbo": 1000000,
    "qwen-plus": 131072,
    "qwen-max": 32768,
    "qwen1.5": 32768,
    "qwen2": 32768,
    "qwen2.5": 32768,
    "qwen2.5-coder": 32768,
    "qwen3": 40960,
    "qwq": 131072,
    # DeepSeek
    "deepseek-chat": 65536,
    "deepseek-reasoner": 65536,
    "deepseek-coder": 16384,
    "deepseek-v2": 131072,
    "deepseek-v3": 131072,
    "deepseek-r1": 131072,
    # Mistral
    "mistral": 32768,
    "mistral-7b": 32768,
    "mistral-small": 32768,
    "mistral-medium": 131072,
    "mistral-large": 131072,
    "mistral-nemo": 131072,
    "mixtral": 32768,
    "codestral": 262144,
    "ministral": 131072,
    # Others often served through OpenAI-compatible servers
    "phi3": 4096,
    "phi-3": 4096,
    "phi4": 16384,
    "phi-4": 16384,
    "command-r": 131072,
    "yi-": 200000,
    "glm-4": 131072,
    "moonshot-v1-8k": 8192,
    "moonshot-v1-32k": 32768,
    "moonshot-v1-128k": 131072,
    "smollm2": 8192,
}


def _family_key(model: str) -> str:
    """The model name without an organisation prefix (`meta-llama/Llama-3.1-8B` -> `llama-3.1-8b`)."""
    return model.strip().lower().rsplit("/", 1)[-1]


def known_context_window(model: str) -> int | None:
    """The built-in table's window for a model name: the longest family prefix that matches."""
    name = _family_key(model)
    best = ""
    for family in KNOWN_CONTEXT_WINDOWS:
        if name.startswith(family) and len(family) > len(best):
            best = family
    return KNOWN_CONTEXT_WINDOWS[best] if best else None


def context_window(configured: Mapping[str, int], provider_name: str, model: str) -> int:
    """The window of `model` served by `provider_name`: configured as "provider/model", then as "model", then the
    built-in table, then `DEFAULT_CONTEXT_TOKENS`."""
    for key in (f"{provider_name}/{model}", model):
        if key in configured:
            return configured[key]
    return known_context_window(model) or DEFAULT_CONTEXT_TOKENS

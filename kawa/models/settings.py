"""`ModelsSettings`: providers, aliases, defaults, prices and call policy; nested into Settings as `models`.

Example `kawa.toml`::

    [models.providers.openai]
    kind = "openai_compatible"
    api_key = "sk-..."
    models = ["gpt-4o-mini"]

    [models.providers.ollama]
    base_url = "http://127.0.0.1:11434/v1"
    dify_ids = ["langgenius/ollama/ollama"]

    [models.aliases]
    "openai/gpt-4o" = "ollama/llama3.2"

    [models.prices."openai/gpt-4o-mini"]
    input = "0.15"
    output = "0.60"
    unit = "0.000001"
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

ProviderKind = Literal["openai_compatible", "anthropic", "local_gguf"]


class ProviderSettings(BaseModel):
    """One configured provider. Its key in `providers` is the name aliases and defaults use."""

    kind: ProviderKind = Field("openai_compatible", description="Which client talks to it.")
    base_url: str | None = Field(
        None, description="API base URL (OpenAI-compatible servers: vLLM, Ollama, llama.cpp, LM Studio, Azure...)."
    )
    api_key: SecretStr | None = Field(None, description="API key; never logged or shown in errors.")
    models: list[str] = Field(
        default_factory=list, description="Chat models offered; empty accepts any model name the upstream knows."
    )
    embedding_models: list[str] = Field(default_factory=list, description="Embedding models offered.")
    dify_ids: list[str] = Field(
        default_factory=list,
        description="Extra Dify provider ids served by this provider (e.g. `langgenius/ollama/ollama`).",
    )
    model_path: Path | None = Field(None, description="GGUF file (kind `local_gguf`).")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Extra HTTP headers sent upstream (secret: e.g. Azure `api-key`)."
    )
    query: dict[str, str] = Field(default_factory=dict, description="Extra query parameters (Azure: api-version).")
    stream_usage: bool = Field(
        True, description="Ask for usage in the last stream chunk (`stream_options.include_usage`)."
    )
    vision: bool = Field(True, description="The models accept image inputs.")

    def secrets(self) -> list[str]:
        """Every secret value, for redaction."""
        values = [v.get_secret_value() for v in self.headers.values()]
        return [self.api_key.get_secret_value(), *values] if self.api_key else values

    def header_values(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.headers.items()}


class ModelPrice(BaseModel):
    """Price of one model: `input`/`output` per `unit` tokens, as in Dify (unit 0.000001 = per million tokens)."""

    input: Decimal = Decimal("0")
    output: Decimal = Decimal("0")
    unit: Decimal = Decimal("0.000001")
    currency: str = "USD"


class EmbeddedSettings(BaseModel):
    """Models that run in-process with weights from installed packages (no network)."""

    enabled: bool = Field(True, description="Use embedded models when nothing else is configured.")
    chat: bool = Field(True, description="Fall back to the embedded SmolLM2 chat model (needs `kawa[local-llm]`).")
    stt_model: Literal["tiny.en", "base"] = Field(
        "tiny.en", description="Embedded Whisper: `tiny.en` (English) or `base` (multilingual, extra package)."
    )
    tts_voice: str = Field("en-us", description="eSpeak NG voice of the embedded text-to-speech (`kawa[tts]`).")
    threads: int = Field(2, ge=1, description="CPU threads each embedded model may use.")
    cache_dir: Path | None = Field(
        None, description="Where models assembled from split packages are kept. Default: ~/.cache/kawa."
    )


class ModelsSettings(BaseModel):
    """Model providers and how Dify apps' model choices map onto them. Env: `KAWA_MODELS__...`."""

    providers: dict[str, ProviderSettings] = Field(default_factory=dict, description="Configured providers by name.")
    aliases: dict[str, str] = Field(
        default_factory=dict,
        description='Map "provider/model", "provider/*" or "*/model" (Dify ids allowed) to "configured/model".',
    )
    default_chat_model: str | None = Field(
        None, description='"provider/model" used when an app names a provider that is not configured.'
    )
    default_embedding_model: str | None = Field(
        None, description='"provider/model" for embeddings; default: the embedded multilingual-e5-small.'
    )
    prices: dict[str, ModelPrice] = Field(default_factory=dict, description='Prices by "provider/model" or "model".')
    context_sizes: dict[str, int] = Field(
        default_factory=dict,
        description='Context window in tokens by "provider/model" or "model"; default: a built-in table of known '
        "families, else 8192.",
    )
    timeout_s: float = Field(60.0, gt=0, description="Longest wait for the next byte from an upstream.")
    connect_timeout_s: float = Field(10.0, gt=0, description="Longest wait to connect to an upstream.")
    max_retries: int = Field(2, ge=0, description="Retries of a retryable upstream failure before any output.")
    retry_backoff_s: float = Field(0.5, ge=0, description="First retry delay; doubles each retry (with jitter).")
    call_deadline_s: float = Field(
        90.0,
        gt=0,
        description="Longest a model call may wait for its first output, all tries and retry delays included "
        "(remote providers; an in-process model may take as long as its prompt needs).",
    )
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)

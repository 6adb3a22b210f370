"""Which models this server offers, by Dify model type (`llm`, `text-embedding`, `rerank`, `tts`, `speech2text`,
`moderation`): the models named in each configured provider's settings (plus the defaults that name it) and the
embedded models installed. A provider whose settings list no models for a type offers none of that type here,
although it may still answer a model name its upstream knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kawa.models.context_windows import context_window
from kawa.models.embedded import EMBEDDED_PROVIDER
from kawa.models.embedded.embeddings import MODEL_NAME as E5_NAME
from kawa.models.provider import Capability
from kawa.models.registry import ModelRuntime

ModelType = Literal["llm", "text-embedding", "rerank", "tts", "speech2text", "moderation"]

_CAPABILITY: dict[ModelType, Capability] = {
    "llm": Capability.CHAT,
    "text-embedding": Capability.EMBEDDINGS,
    "rerank": Capability.RERANK,
    "tts": Capability.TEXT_TO_SPEECH,
    "speech2text": Capability.SPEECH_TO_TEXT,
    "moderation": Capability.MODERATION,
}
# Dify's names of the chat features kawa's providers declare
_FEATURES = {
    Capability.TOOL_CALLS: "tool-call",
    Capability.VISION: "vision",
    Capability.STRUCTURED_OUTPUT: "structured-output",
}
E5_MAX_TOKENS = 512


@dataclass(frozen=True, slots=True)
class OfferedModel:
    model: str
    features: list[str] | None
    context_size: int | None
    predefined: bool  # shipped with kawa (embedded) rather than named in settings


@dataclass(frozen=True, slots=True)
class ProviderModels:
    provider: str
    models: list[OfferedModel]


def _named_in_settings(runtime: ModelRuntime, name: str, model_type: ModelType) -> list[str]:
    config = runtime.config
    settings = config.providers[name]
    listed = {"llm": settings.models, "text-embedding": settings.embedding_models}.get(model_type, [])
    default = {"llm": config.default_chat_model, "text-embedding": config.default_embedding_model}.get(model_type)
    names = list(listed)
    if default and default.partition("/")[0] == name:
        names.append(default.partition("/")[2])
    return list(dict.fromkeys(n for n in names if n))


def available_models(runtime: ModelRuntime, model_type: ModelType) -> list[ProviderModels]:
    capability = _CAPABILITY[model_type]
    offered: list[ProviderModels] = []
    for name, provider in runtime.providers().items():
        if not provider.supports(capability):
            continue
        features = sorted(f for c, f in _FEATURES.items() if provider.supports(c)) if model_type == "llm" else None
        models = [
            OfferedModel(
                model=m,
                features=features,
                context_size=context_window(runtime.config.context_sizes, name, m) if model_type == "llm" else None,
                predefined=False,
            )
            for m in _named_in_settings(runtime, name, model_type)
        ]
        if models:
            offered.append(ProviderModels(name, models))
    embedded = runtime.embedded
    if embedded is not None and embedded.supports(capability):
        model = embedded.model_name(capability)
        if model_type == "llm":
            size = context_window(runtime.config.context_sizes, EMBEDDED_PROVIDER, model)
            chat_features = sorted(f for c, f in _FEATURES.items() if embedded.supports(c))
            offered.append(ProviderModels(EMBEDDED_PROVIDER, [OfferedModel(model, chat_features, size, True)]))
        else:
            size_or_none = E5_MAX_TOKENS if model == E5_NAME else None
            offered.append(ProviderModels(EMBEDDED_PROVIDER, [OfferedModel(model, None, size_or_none, True)]))
    return offered

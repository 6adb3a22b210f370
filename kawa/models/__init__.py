"""The model runtime: one provider interface (chat, embeddings, rerank, speech, moderation), the built-in providers,
embedded offline models, pricing, and `ModelRuntime`, which resolves Dify model choices to configured providers."""

from kawa.models.provider import Capability, ModelProvider
from kawa.models.registry import ModelRuntime, ResolvedModel, dify_provider_name
from kawa.models.settings import EmbeddedSettings, ModelPrice, ModelsSettings, ProviderSettings
from kawa.models.tool_calls import ToolCallAccumulator
from kawa.models.types import (
    ChatChunk,
    ChatCompletionRequest,
    ChatMessage,
    ChatResult,
    CompletionParams,
    Embeddings,
    ImagePart,
    ModerationResult,
    RerankHit,
    ResponseFormat,
    Speech,
    TextPart,
    TokenCount,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Transcript,
    Usage,
)

__all__ = [
    "Capability",
    "ChatChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "ChatResult",
    "CompletionParams",
    "EmbeddedSettings",
    "Embeddings",
    "ImagePart",
    "ModelPrice",
    "ModelProvider",
    "ModelRuntime",
    "ModelsSettings",
    "ModerationResult",
    "ProviderSettings",
    "RerankHit",
    "ResolvedModel",
    "ResponseFormat",
    "Speech",
    "TextPart",
    "TokenCount",
    "ToolCall",
    "ToolCallAccumulator",
    "ToolCallDelta",
    "ToolDefinition",
    "Transcript",
    "Usage",
    "dify_provider_name",
]

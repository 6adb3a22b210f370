"""The model runtime: one provider interface (chat, embeddings, rerank, speech, moderation), the built-in providers,
embedded offline models, pricing, and `ModelRuntime`, which resolves Dify model choices to configured providers."""

from kawa.models.config import EmbeddedConfig, ModelPrice, ModelsConfig, ProviderConfig
from kawa.models.provider import Capability, ModelProvider
from kawa.models.registry import ModelRuntime, ResolvedModel, dify_provider_name
from kawa.models.types import (
    ChatChunk,
    ChatRequest,
    ChatResult,
    CompletionParams,
    Embeddings,
    ImagePart,
    Message,
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
    "Capability", "ChatChunk", "ChatRequest", "ChatResult", "CompletionParams", "EmbeddedConfig", "Embeddings",
    "ImagePart", "Message", "ModelPrice", "ModelProvider", "ModelRuntime", "ModelsConfig", "ModerationResult",
    "ProviderConfig", "RerankHit", "ResolvedModel", "ResponseFormat", "Speech", "TextPart", "TokenCount", "ToolCall",
    "ToolCallDelta", "ToolDefinition", "Transcript", "Usage", "dify_provider_name",
]

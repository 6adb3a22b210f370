"""Typed requests and results of the model runtime: chat messages, tool calls, stream chunks, Dify's `usage` object."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class TextPart(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """An image given to a vision model: an http(s) URL or a `data:` URL with base64 content."""

    type: Literal["image"] = "image"
    url: str
    detail: Literal["low", "high", "auto"] = "auto"


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ToolCall(BaseModel):
    """A complete call the model asked for; `arguments` is the JSON text the model produced."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; invalid JSON gives `{}` (models sometimes emit it)."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class ChatMessage(BaseModel):
    """One message of a prompt sent to a chat model (Dify's `PromptMessage`); not a stored conversation message."""

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, text: str) -> ChatMessage:
        return cls(role="system", content=text)

    @classmethod
    def user(cls, content: str | list[ContentPart]) -> ChatMessage:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, text: str = "", tool_calls: list[ToolCall] | None = None) -> ChatMessage:
        return cls(role="assistant", content=text, tool_calls=tool_calls or [])

    @classmethod
    def tool(cls, tool_call_id: str, text: str, name: str | None = None) -> ChatMessage:
        return cls(role="tool", content=text, tool_call_id=tool_call_id, name=name)

    def text(self) -> str:
        """The text parts joined; images are dropped."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    def images(self) -> list[ImagePart]:
        if isinstance(self.content, str):
            return []
        return [part for part in self.content if isinstance(part, ImagePart)]


class ToolDefinition(BaseModel):
    """A function the model may call; `parameters` is a JSON schema object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ResponseFormat(BaseModel):
    """Structured output: free text, any JSON object, or JSON matching `json_schema`."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None
    name: str = "output"
    strict: bool = False


class CompletionParams(BaseModel):
    """The common completion parameters. Unknown keys (e.g. provider-specific knobs) are kept in `extra`."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})


class ChatCompletionRequest(BaseModel):
    """What a chat model is asked: messages, parameters, tools and output format (not an app's chat API request)."""

    model: str
    messages: list[ChatMessage]
    params: CompletionParams = Field(default_factory=CompletionParams)
    tools: list[ToolDefinition] = Field(default_factory=list)
    tool_choice: Literal["auto", "none", "required"] | str | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None


class ToolCallDelta(BaseModel):
    """A fragment of a tool call in a stream; `ToolCallAccumulator` (`kawa.models.tool_calls`) assembles them."""

    index: int = 0
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class TokenCount(BaseModel):
    """Raw token counts as a provider reports them; pricing turns them into a `Usage`."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


_ZERO = Decimal("0.0")


class Usage(BaseModel):
    """Dify's `usage` object. Decimals serialise as strings in JSON mode (`model_dump(mode="json")`)."""

    prompt_tokens: int = 0
    prompt_unit_price: Decimal = _ZERO
    prompt_price_unit: Decimal = _ZERO
    prompt_price: Decimal = _ZERO
    completion_tokens: int = 0
    completion_unit_price: Decimal = _ZERO
    completion_price_unit: Decimal = _ZERO
    completion_price: Decimal = _ZERO
    total_tokens: int = 0
    total_price: Decimal = _ZERO
    currency: str = "USD"
    latency: float = 0.0
    time_to_first_token: float | None = None
    time_to_generate: float | None = None

    def plus(self, other: Usage) -> Usage:
        """Sum of two usages (several LLM calls of one node or run); unit prices are taken from the later call."""
        if self.total_tokens == 0 and self.total_price == 0:
            return other
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            prompt_unit_price=other.prompt_unit_price,
            prompt_price_unit=other.prompt_price_unit,
            prompt_price=self.prompt_price + other.prompt_price,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            completion_unit_price=other.completion_unit_price,
            completion_price_unit=other.completion_price_unit,
            completion_price=self.completion_price + other.completion_price,
            total_tokens=self.total_tokens + other.total_tokens,
            total_price=self.total_price + other.total_price,
            currency=other.currency,
            latency=round(self.latency + other.latency, 3),
            time_to_first_token=self.time_to_first_token,
            time_to_generate=other.time_to_generate,
        )


class ChatChunk(BaseModel):
    """One step of a chat stream. The last chunk of a stream carries `usage` (always set by the runtime)."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    tokens: TokenCount | None = None


class ChatResult(BaseModel):
    """A whole chat answer, collected from a stream."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)


class Embeddings(BaseModel):
    vectors: list[list[float]]
    model: str
    usage: Usage = Field(default_factory=Usage)


class RerankHit(BaseModel):
    index: int
    score: float
    text: str


class Transcript(BaseModel):
    text: str
    language: str | None = None
    duration_s: float = 0.0


class Speech(BaseModel):
    audio: bytes
    mime_type: str
    sample_rate: int
    duration_s: float


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool] = Field(default_factory=dict)

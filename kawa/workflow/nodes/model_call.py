"""What the model-backed nodes (llm, question-classifier, parameter-extractor) share: their `model`, `memory` and
`vision` data, conversation history, image files as model inputs, and one streamed model call.

Conversation history comes from the runner (chatflow) as `NodeServices.conversation_history`: the user/assistant
turns (`kawa.models.ChatMessage`), oldest first.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.models.tool_calls import ToolCallAccumulator
from kawa.models.types import ChatCompletionRequest, ChatMessage, ChatResult, CompletionParams, ImagePart, Usage
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import NodeUsage
from kawa.workflow.ports import ChatModels
from kawa.workflow.runtime import NodeContext
from kawa.workflow.values import is_file

SYS_FILES = ["sys", "files"]
MAX_HISTORY_MESSAGES = 500


class ModelData(BaseModel):
    """`model` of a node: Dify provider id, model name, chat|completion mode, completion parameters."""

    model_config = ConfigDict(extra="allow")

    provider: str = ""
    name: str = ""
    mode: Literal["chat", "completion"] = "chat"
    completion_params: dict[str, Any] | None = Field(default_factory=dict)

    def params(self) -> CompletionParams:
        raw = dict(self.completion_params or {})
        stop = raw.pop("stop", None) or []
        # Dify keeps `response_format` and friends in completion_params; they are not sampling parameters.
        for key in ("response_format", "json_schema"):
            raw.pop(key, None)
        return CompletionParams.model_validate({**raw, "stop": [s for s in stop if s]})


class RolePrefix(BaseModel):
    user: str = "Human"
    assistant: str = "Assistant"


class MemoryWindow(BaseModel):
    enabled: bool = False
    size: int | None = None


class MemoryData(BaseModel):
    model_config = ConfigDict(extra="allow")

    role_prefix: RolePrefix | None = None
    window: MemoryWindow = Field(default_factory=MemoryWindow)
    query_prompt_template: str | None = None


class VisionConfigs(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable_selector: list[str] = Field(default_factory=lambda: list(SYS_FILES))
    detail: Literal["low", "high", "auto"] = "high"


class VisionData(BaseModel):
    enabled: bool = False
    configs: VisionConfigs = Field(default_factory=VisionConfigs)


class ModelsUnavailable(NodeError):
    pass


def runtime_of(ctx: NodeContext) -> ChatModels:
    models = ctx.services.models
    if models is None:
        raise ModelsUnavailable("No model runtime is available to this workflow.")
    return models


def history(ctx: NodeContext, memory: MemoryData | None) -> list[ChatMessage]:
    """The conversation so far, cut to the memory window (pairs of turns), when the runner provides one."""
    if memory is None:
        return []
    pairs = memory.window.size if memory.window.enabled and memory.window.size else MAX_HISTORY_MESSAGES
    messages = [m for m in ctx.services.conversation_history if m.role in ("user", "assistant")]
    return messages[-2 * pairs :]


async def image_parts(ctx: NodeContext, vision: VisionData) -> list[ImagePart]:
    """Image files of the vision selector as model inputs: local files inline (base64), remote ones by URL."""
    if not vision.enabled:
        return []
    value = ctx.pool.get(vision.configs.variable_selector)
    files = [value] if is_file(value) else [f for f in value or [] if is_file(f)] if isinstance(value, list) else []
    parts = []
    for file in files:
        if file.get("type") != "image":
            continue
        parts.append(ImagePart(url=await _image_url(ctx, file), detail=vision.configs.detail))
    return parts


async def _image_url(ctx: NodeContext, file: Mapping[str, Any]) -> str:
    if file.get("transfer_method") == "remote_url" and file.get("remote_url"):
        return str(file["remote_url"])
    reader = ctx.services.file_reader
    file_id = file.get("related_id") or file.get("id")
    if reader is not None and file_id:
        data = await reader(str(file_id))
        mime = file.get("mime_type") or "image/png"
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return str(file.get("url") or file.get("remote_url") or "")


async def call_model(
    ctx: NodeContext,
    model: ModelData,
    messages: list[ChatMessage],
    *,
    on_text: Callable[[str], None] | None = None,
    **request: Any,
) -> ChatResult:
    """One streamed call. `on_text` sees each text delta as it arrives; provider reasoning arrives as text inside
    `<think>` tags, as Dify's providers present it."""
    runtime = runtime_of(ctx)
    chat = ChatCompletionRequest(model=model.name, messages=messages, params=model.params(), **request)
    text: list[str] = []
    calls = ToolCallAccumulator()
    result = ChatResult()
    thinking = False

    def forward(piece: str) -> None:
        text.append(piece)
        if on_text is not None:
            on_text(piece)

    async with aclosing(runtime.chat_stream(model.provider, chat)) as chunks:
        async for chunk in chunks:
            if chunk.reasoning:
                if not thinking:
                    forward("<think>\n")
                    thinking = True
                forward(chunk.reasoning)
            if chunk.text or chunk.tool_calls or chunk.finish_reason:
                if thinking and (chunk.text or chunk.tool_calls):
                    forward("\n</think>")
                    thinking = False
                if chunk.text:
                    forward(chunk.text)
            calls.add(chunk.tool_calls)
            if chunk.finish_reason:
                result.finish_reason = chunk.finish_reason
            if chunk.usage is not None:
                result.usage = chunk.usage
    if thinking:
        forward("\n</think>")
    result.text = "".join(text)
    result.tool_calls = calls.calls()
    return result


def node_usage(usage: Usage) -> NodeUsage:
    return NodeUsage(
        total_tokens=usage.total_tokens, total_price=Decimal(usage.total_price), currency=usage.currency, llm=usage
    )


def usage_json(usage: Usage) -> dict[str, Any]:
    return usage.model_dump(mode="json")


def prompts_for_saving(messages: Sequence[ChatMessage], mode: str) -> list[dict[str, Any]]:
    """`process_data.prompts` as Dify shows them: role, text and the files sent."""
    if mode == "completion":
        return [{"role": "user", "text": "\n".join(m.text() for m in messages), "files": []}]
    return [
        {
            "role": m.role,
            "text": m.text(),
            "files": [
                {
                    "type": "image",
                    "detail": p.detail,
                    "data": p.url if not p.url.startswith("data:") else p.url[:64] + "...[truncated]...",
                }
                for p in m.images()
            ],
        }
        for m in messages
    ]


_THINK = re.compile(r"<think[^>]*>(.*?)</think>", re.IGNORECASE | re.DOTALL)


def split_reasoning(text: str) -> tuple[str, str]:
    """`<think>` blocks out of the text: (clean text, reasoning)."""
    found = _THINK.findall(text)
    reasoning = "\n".join(part.strip() for part in found)
    clean = re.sub(r"\n\s*\n", "\n\n", _THINK.sub("", text)).strip()
    return clean, reasoning


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's answer (code fences and chatter around it tolerated)."""
    import json

    clean, _ = split_reasoning(text)
    fenced = re.search(r"```(?:json)?\s*(.*?)```", clean, re.DOTALL)
    candidates = [fenced.group(1)] if fenced else []
    candidates.append(clean)
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            depth = 0
            for end in range(start, len(candidate)):
                ch = candidate[end]
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        try:
                            value = json.loads(candidate[start : end + 1])
                        except ValueError:
                            break
                        return value if isinstance(value, dict) else None
            start = candidate.find("{", start + 1)
    return None

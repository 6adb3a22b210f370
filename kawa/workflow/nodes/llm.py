"""The `llm` node: builds the prompt (chat or completion templates, basic or Jinja2, `{{#context#}}`, memory,
vision files), streams the answer to the engine, and returns text, reasoning_content, usage, finish_reason and the
structured output when enabled."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from kawa.models.provider import Capability
from kawa.models.types import ChatMessage, ImagePart, ResponseFormat, TextPart
from kawa.workflow.errors import NodeError
from kawa.workflow.events import ReasoningChunk
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.nodes.model_call import (
    MemoryData,
    ModelData,
    VisionData,
    call_model,
    history,
    image_parts,
    node_usage,
    parse_json_object,
    prompts_for_saving,
    runtime_of,
    split_reasoning,
    usage_json,
)
from kawa.workflow.nodes.reasoning_split import Piece, ReasoningSplitter
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.values import to_text

_JINJA = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


class PromptMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant"] = "user"
    text: str = ""
    edition_type: Literal["basic", "jinja2"] | None = None
    jinja2_text: str | None = None


class CompletionPrompt(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str = ""
    edition_type: Literal["basic", "jinja2"] | None = None
    jinja2_text: str | None = None


class Jinja2Variable(BaseModel):
    variable: str
    value_selector: list[str]


class PromptConfig(BaseModel):
    jinja2_variables: list[Jinja2Variable] = Field(default_factory=list)


class ContextData(BaseModel):
    enabled: bool = False
    variable_selector: list[str] | None = None


class StructuredOutput(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class LLMData(NodeData):
    model: ModelData
    prompt_template: list[PromptMessage] | CompletionPrompt = Field(default_factory=list)
    prompt_config: PromptConfig = Field(default_factory=PromptConfig)
    memory: MemoryData | None = None
    context: ContextData = Field(default_factory=ContextData)
    vision: VisionData = Field(default_factory=VisionData)
    structured_output_enabled: bool = False
    structured_output: StructuredOutput | None = None
    reasoning_format: Literal["tagged", "separated"] = "tagged"


class NoPromptFound(NodeError):
    pass


class StructuredOutputError(NodeError):
    pass


def _forward(ctx: NodeContext, pieces: list[Piece]) -> None:
    """With `reasoning_format: separated`: text to the answer stream, reasoning to `reasoning_chunk` events."""
    for piece in pieces:
        if piece.kind == "text":
            ctx.stream_text("text", piece.text)
        else:
            ctx.emit(ReasoningChunk(ctx.node_id, piece.text, is_final=piece.kind == "reasoning_end"))


class LLMNode(Node[LLMData]):
    node_type = "llm"
    data_model = LLMData

    def check(self) -> None:
        if not self.data.model.name:
            raise NodeConfigError("model.name", "an llm node needs a model")

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        for i, var in enumerate(self.data.prompt_config.jinja2_variables):
            yield f"prompt_config.jinja2_variables[{i}].value_selector", var.value_selector

    async def run(self, ctx: NodeContext) -> NodeResult:
        data = self.data
        inputs: dict[str, Any] = {}
        context = self._context(ctx)
        if context is not None:
            inputs["#context#"] = context
        images = await image_parts(ctx, data.vision)
        target = runtime_of(ctx).resolve_chat(data.model.provider, data.model.name)
        if images and not target.provider.supports(Capability.VISION):
            images = []  # as Dify does for models without the vision feature: the text still goes
        if images:
            inputs["#files#"] = [{"type": "image", "detail": p.detail} for p in images]
        messages = await self._messages(ctx, context or "", images)
        request: dict[str, Any] = {}
        schema = data.structured_output.schema_ if data.structured_output_enabled and data.structured_output else None
        if schema is not None:
            native = target.provider.supports(Capability.STRUCTURED_OUTPUT)
            messages, request = self._structured(messages, schema, native)

        splitter = ReasoningSplitter() if data.reasoning_format == "separated" else None

        def on_text(delta: str) -> None:
            if splitter is None:
                ctx.stream_text("text", delta)
                return
            _forward(ctx, splitter.feed(delta))

        result = await call_model(ctx, data.model, messages, on_text=on_text, **request)
        if splitter is not None:
            _forward(ctx, splitter.close())

        text, reasoning = result.text, ""
        if data.reasoning_format == "separated":
            text, reasoning = split_reasoning(result.text)
        else:
            reasoning = split_reasoning(result.text)[1]
        outputs: dict[str, Any] = {
            "text": text,
            "reasoning_content": reasoning,
            "usage": usage_json(result.usage),
            "finish_reason": result.finish_reason,
        }
        if schema is not None:
            parsed = parse_json_object(result.text)
            if parsed is None:
                raise StructuredOutputError(f"Failed to parse structured output: {split_reasoning(text)[0][:200]}")
            outputs["structured_output"] = parsed
        return NodeResult(
            inputs=inputs,
            outputs=outputs,
            process_data={
                "model_mode": data.model.mode,
                "prompts": prompts_for_saving(messages, data.model.mode),
                "usage": usage_json(result.usage),
                "finish_reason": result.finish_reason,
                "model_provider": data.model.provider,
                "model_name": data.model.name,
            },
            usage=node_usage(result.usage),
        )

    def _context(self, ctx: NodeContext) -> str | None:
        selector = self.data.context.variable_selector
        if not self.data.context.enabled or not selector:
            return None
        value = ctx.pool.get(selector)
        if value is None:
            return None
        if isinstance(value, list):
            parts = []
            for item in value:
                if isinstance(item, str):
                    parts.append(item)
                elif isinstance(item, dict) and "content" in item:
                    if item.get("summary"):
                        parts.append(str(item["summary"]))
                    parts.append(str(item["content"]))
                else:
                    raise NodeError(f"Invalid context structure: {item}")
            return "".join(p + "\n" for p in parts)
        return to_text(value)

    def _render(self, ctx: NodeContext, text: str, edition: str | None, jinja2_text: str | None, context: str) -> str:
        if edition == "jinja2":
            variables = {
                v.variable: _jinja_value(ctx.pool.get(v.value_selector))
                for v in self.data.prompt_config.jinja2_variables
            }
            rendered = _JINJA.from_string(jinja2_text or text).render(**variables)
        else:
            rendered = render_text(text, ctx.pool)
        return rendered.replace("{{#context#}}", context)

    async def _messages(self, ctx: NodeContext, context: str, images: list[ImagePart]) -> list[ChatMessage]:
        data = self.data
        past = history(ctx, data.memory)
        template = data.prompt_template
        messages: list[ChatMessage] = []
        if isinstance(template, CompletionPrompt):
            text = self._render(ctx, template.text, template.edition_type, template.jinja2_text, context)
            if "#histories#" in text or "{{#histories#}}" in text:
                prefix = data.memory.role_prefix if data.memory and data.memory.role_prefix else None
                user, assistant = (prefix.user, prefix.assistant) if prefix else ("Human", "Assistant")
                lines = [f"{user if m.role == 'user' else assistant}: {m.text()}" for m in past]
                text = text.replace("{{#histories#}}", "\n".join(lines)).replace("#histories#", "\n".join(lines))
            messages.append(ChatMessage.user(text))
        else:
            for item in template:
                text = self._render(ctx, item.text, item.edition_type, item.jinja2_text, context)
                messages.append(ChatMessage(role=item.role, content=text))
            messages.extend(past)
            if data.memory is not None:
                query = data.memory.query_prompt_template or "{{#sys.query#}}"
                rendered = render_text(query, ctx.pool)
                if rendered and rendered != "sys.query":
                    messages.append(ChatMessage.user(rendered))
        if images:
            last = messages[-1] if messages else None
            if last is not None and last.role == "user":
                messages[-1] = ChatMessage.user([*images, TextPart(text=last.text())])
            else:
                messages.append(ChatMessage.user(list(images)))
        messages = [m for m in messages if m.text() or m.images()]
        if not messages:
            raise NoPromptFound("No prompt found in the LLM configuration.")
        return messages

    @staticmethod
    def _structured(
        messages: list[ChatMessage], schema: dict[str, Any], native: bool
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        if native:
            return messages, {"response_format": ResponseFormat(type="json_schema", json_schema=schema)}
        # No native structured output: ask for it in the system prompt and parse the answer.
        instruction = (
            "Answer with one JSON object only, no prose and no code fences, valid against this JSON schema:\n"
            + json.dumps(schema, ensure_ascii=False)
        )
        if messages and messages[0].role == "system":
            first = messages[0]
            return [ChatMessage.system(first.text() + "\n\n" + instruction), *messages[1:]], {}
        return [ChatMessage.system(instruction), *messages], {}


def _jinja_value(value: Any) -> Any:
    """Jinja2 variables as Dify passes them: arrays of retrieval results as their contents, objects as JSON."""
    if isinstance(value, list):
        return "\n".join(
            str(item["content"])
            if isinstance(item, dict) and "content" in item
            else json.dumps(item, ensure_ascii=False)
            if isinstance(item, dict)
            else str(item)
            for item in value
        ).strip()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value

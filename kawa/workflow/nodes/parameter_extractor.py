"""The `parameter-extractor` node: pulls typed parameters out of text, through a forced tool call when the model can
call tools (`reasoning_mode: function_call`) or a JSON answer otherwise (`prompt`).

Outputs each parameter plus `__is_success` (1/0), `__reason` and `__usage`. A failed extraction still succeeds as a
node, with type defaults and `__is_success: 0`, as Dify does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from kawa.models.provider import Capability
from kawa.models.types import ChatMessage, TextPart, ToolDefinition
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
    usage_json,
)
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.values import to_text

TOOL_NAME = "extract_parameters"
_JSON_TYPES = {"string": "string", "number": "number", "bool": "boolean", "boolean": "boolean", "select": "string"}


class ParameterData(BaseModel):
    name: str
    type: str = "string"
    options: list[str] = Field(default_factory=list)
    description: str = ""
    required: bool = False


class ParameterExtractorData(NodeData):
    model: ModelData
    query: list[str]
    parameters: list[ParameterData] = Field(default_factory=list)
    instruction: str | None = ""
    memory: MemoryData | None = None
    vision: VisionData = Field(default_factory=VisionData)
    reasoning_mode: Literal["function_call", "prompt"] = "function_call"


class ParameterExtractorNode(Node[ParameterExtractorData]):
    node_type = "parameter-extractor"
    data_model = ParameterExtractorData

    def check(self) -> None:
        names = [p.name for p in self.data.parameters]
        if len(set(names)) != len(names):
            raise NodeConfigError("parameters", "parameter names must be unique")

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        yield "query", self.data.query

    def schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for p in self.data.parameters:
            if p.type.startswith("array["):
                item = p.type[6:-1]
                prop: dict[str, Any] = {"type": "array", "items": {"type": _JSON_TYPES.get(item, "object")}}
            else:
                prop = {"type": _JSON_TYPES.get(p.type, "string")}
            if p.type == "select" and p.options:
                prop["enum"] = p.options
            if p.description:
                prop["description"] = p.description
            properties[p.name] = prop
        return {
            "type": "object",
            "properties": properties,
            "required": [p.name for p in self.data.parameters if p.required],
        }

    async def run(self, ctx: NodeContext) -> NodeResult:
        data = self.data
        query = to_text(ctx.pool.get(data.query))
        instruction = render_text(data.instruction or "", ctx.pool).strip()
        schema = self.schema()
        target = runtime_of(ctx).resolve_chat(data.model.provider, data.model.name)
        use_tool = data.reasoning_mode == "function_call" and target.provider.supports(Capability.TOOL_CALLS)
        system = (
            "Extract the parameters described by the schema from the user's text. "
            + (
                "Call the function with what you find."
                if use_tool
                else "Reply with one JSON object only, matching this JSON schema:\n"
                + json.dumps(schema, ensure_ascii=False)
            )
            + " Leave out what the text does not say."
            + (f"\nInstructions: {instruction}" if instruction else "")
        )
        images = await image_parts(ctx, data.vision)
        user = ChatMessage.user([*images, TextPart(text=query)] if images else query)
        messages = [ChatMessage.system(system), *history(ctx, data.memory), user]
        request: dict[str, Any] = {}
        if use_tool:
            request = {
                "tools": [
                    ToolDefinition(name=TOOL_NAME, description="Parameters found in the text", parameters=schema)
                ],
                "tool_choice": TOOL_NAME,
            }
        result = await call_model(ctx, data.model, messages, **request)
        raw: dict[str, Any] | None = None
        if result.tool_calls:
            raw = result.tool_calls[0].parsed_arguments()
        if raw is None:
            raw = parse_json_object(result.text)
        values, problem = self._transform(raw)
        outputs = {
            **values,
            "__is_success": 0 if problem else 1,
            "__reason": problem,
            "__usage": usage_json(result.usage),
        }
        return NodeResult(
            inputs={"query": query},
            outputs=outputs,
            process_data={
                "model_mode": data.model.mode,
                "prompts": prompts_for_saving(messages, data.model.mode),
                "usage": usage_json(result.usage),
                "function": {"name": TOOL_NAME, "parameters": schema} if use_tool else {},
                "tool_call": result.tool_calls[0].model_dump() if result.tool_calls else None,
                "llm_text": result.text,
            },
            usage=node_usage(result.usage),
        )

    def _transform(self, raw: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
        if raw is None:
            defaults = {p.name: _default(p.type) for p in self.data.parameters}
            return defaults, "Failed to extract result from function call or text response"
        values: dict[str, Any] = {}
        problem: str | None = None
        for p in self.data.parameters:
            if p.name not in raw or raw[p.name] is None:
                if p.required and problem is None:
                    problem = f"Parameter {p.name} is required"
                values[p.name] = _default(p.type)
                continue
            converted = _convert(raw[p.name], p)
            if converted is None:
                problem = problem or f"Invalid {p.type} value for parameter {p.name}"
                converted = _default(p.type)
            values[p.name] = converted
        return values, problem


def _default(kind: str) -> Any:
    if kind.startswith("array"):
        return []
    return {"number": 0, "bool": False, "boolean": False}.get(kind, "")


def _convert(value: Any, p: ParameterData) -> Any:
    kind = p.type
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value).replace(",", ""))
        except ValueError:
            return None
        return int(number) if number.is_integer() and "." not in str(value) else number
    if kind in ("bool", "boolean"):
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False, "yes": True, "no": False}.get(str(value).strip().lower())
    if kind == "select":
        return value if value in p.options else None
    if kind.startswith("array"):
        items = value if isinstance(value, list) else [value]
        inner = ParameterData(name=p.name, type=kind[6:-1] or "string")
        out = [item if inner.type == "object" else _convert(item, inner) for item in items]
        return [item for item in out if item is not None]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

"""The `question-classifier` node: asks the model which class a query belongs to; the edge handle is the class id.

An answer that names no known class falls back to the first class, as Dify does.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from kawa.models.types import ChatMessage, TextPart
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
    usage_json,
)
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.values import to_text

_SYSTEM = """You sort a user's input into exactly one of the categories below.
Reply with a single JSON object and nothing else: {{"category_id": "<id>", "category_name": "<name>"}}.
Categories (JSON list of {{"category_id", "category_name"}}):
{categories}
{instruction}"""


class ClassData(BaseModel):
    id: str
    name: str = ""


class QuestionClassifierData(NodeData):
    query_variable_selector: list[str]
    model: ModelData
    classes: list[ClassData] = Field(default_factory=list)
    instruction: str | None = ""
    memory: MemoryData | None = None
    vision: VisionData = Field(default_factory=VisionData)


class QuestionClassifierNode(Node[QuestionClassifierData]):
    node_type = "question-classifier"
    data_model = QuestionClassifierData

    def check(self) -> None:
        if not self.data.classes:
            raise NodeConfigError("classes", "a question classifier needs at least one class")

    async def run(self, ctx: NodeContext) -> NodeResult:
        data = self.data
        query = to_text(ctx.pool.get(data.query_variable_selector))
        categories = json.dumps(
            [{"category_id": c.id, "category_name": c.name} for c in data.classes], ensure_ascii=False
        )
        instruction = render_text(data.instruction or "", ctx.pool).strip()
        system = _SYSTEM.format(
            categories=categories, instruction=f"Additional instructions: {instruction}" if instruction else ""
        ).strip()
        images = await image_parts(ctx, data.vision)
        user: ChatMessage = ChatMessage.user([*images, TextPart(text=query)] if images else query)
        messages = [ChatMessage.system(system), *history(ctx, data.memory), user]
        result = await call_model(ctx, data.model, messages)
        chosen = self._choose(result.text)
        return NodeResult(
            inputs={"query": query},
            outputs={"class_name": chosen.name, "class_id": chosen.id, "usage": usage_json(result.usage)},
            process_data={
                "model_mode": data.model.mode,
                "prompts": prompts_for_saving(messages, data.model.mode),
                "usage": usage_json(result.usage),
                "finish_reason": result.finish_reason,
                "model_provider": data.model.provider,
                "model_name": data.model.name,
            },
            edge_source_handle=chosen.id,
            usage=node_usage(result.usage),
        )

    def _choose(self, answer: str) -> ClassData:
        parsed: dict[str, Any] = parse_json_object(answer) or {}
        wanted_id = str(parsed.get("category_id", "")).strip()
        wanted_name = str(parsed.get("category_name", "")).strip().lower()
        for cls in self.data.classes:
            if wanted_id and cls.id == wanted_id:
                return cls
        for cls in self.data.classes:
            if wanted_name and cls.name.strip().lower() == wanted_name:
                return cls
        # Small models often answer with the bare name; accept a class named in the text.
        lowered = answer.lower()
        for cls in self.data.classes:
            if cls.name and cls.name.lower() in lowered:
                return cls
        return self.data.classes[0]

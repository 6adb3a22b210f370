"""The `answer` node of chatflows: renders its template (markdown values); streamed as the chat message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kawa.workflow.nodes.base import Node, NodeData, NodeResult
from kawa.workflow.outcome import LevelOutcome
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import Segment, VariableSegment, parse_template, render_segments
from kawa.workflow.values import is_file


class AnswerData(NodeData):
    answer: str = ""


class AnswerNode(Node[AnswerData]):
    node_type = "answer"
    data_model = AnswerData
    runs_inline = True
    is_response = True
    text_output = "answer"

    def record_outcome(self, outputs: Mapping[str, Any], level: LevelOutcome) -> None:
        level.answers.append(str(outputs.get("answer", "")))

    def response_segments(self) -> Sequence[Segment]:
        return parse_template(self.data.answer)

    async def run(self, ctx: NodeContext) -> NodeResult:
        segments = parse_template(self.data.answer)
        files: list[Any] = []
        for segment in segments:
            if isinstance(segment, VariableSegment):
                value = ctx.pool.get(segment.selector)
                if is_file(value):
                    files.append(value)
                elif isinstance(value, list):
                    files.extend(v for v in value if is_file(v))
        answer = render_segments(segments, ctx.pool, markdown=True)
        return NodeResult(outputs={"answer": answer, "files": files})

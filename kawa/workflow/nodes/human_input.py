"""The `human-input` node (Dify >= 1.14): pauses the run until a person answers a form, then follows the branch of
the action they chose (edge handle = action id), or the `__timeout` branch when the form expired.

The first run of an execution returns a `FormRequest` (the run pauses); when the run resumes, the same execution
runs again and finds the decision in `NodeServices.human_input`. Outputs are the submitted values plus
`__action_id`, `__action_value` (the button's title) and `__rendered_content` (the form with the values filled in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.errors import NodeError
from kawa.workflow.events import HumanInputFormFilled, HumanInputFormTimeout
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.pause import TIMEOUT_HANDLE, FormRequest, FormSubmitted, FormTimedOut
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_markdown
from kawa.workflow.values import to_text

_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OUTPUT_FIELD: Final = re.compile(r"\{\{#\$output\.([a-zA-Z_][a-zA-Z0-9_]{0,29})#\}\}")
_HOURS: Final = {"hour": 3600.0, "day": 86400.0}


class ValueSource(BaseModel):
    """A default or option list: a constant, or a selector into the run's variables."""

    model_config = ConfigDict(extra="allow")

    type: Literal["constant", "variable"] = "constant"
    selector: list[str] = Field(default_factory=list)
    value: Any = ""


class FormInput(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["paragraph", "select", "file", "file-list"]
    output_variable_name: str
    default: ValueSource | None = None  # paragraph
    option_source: ValueSource | None = None  # select
    allowed_file_types: list[str] = Field(default_factory=list)
    allowed_file_extensions: list[str] = Field(default_factory=list)
    allowed_file_upload_methods: list[str] = Field(default_factory=list)
    number_limits: int = 0  # file-list


class UserAction(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str = ""
    button_style: str = "default"


class HumanInputData(NodeData):
    delivery_methods: list[dict[str, Any]] = Field(default_factory=list)
    form_content: str = ""
    inputs: list[FormInput] = Field(default_factory=list)
    user_actions: list[UserAction] = Field(default_factory=list)
    timeout: int = 36
    timeout_unit: Literal["hour", "day"] = "hour"


class HumanInputNotAvailable(NodeError):
    pass


class HumanInputNode(Node[HumanInputData]):
    node_type = "human-input"
    data_model = HumanInputData

    def check(self) -> None:
        names: set[str] = set()
        for i, form_input in enumerate(self.data.inputs):
            if form_input.output_variable_name in names:
                raise NodeConfigError(f"inputs[{i}].output_variable_name", "duplicated output_variable_name")
            names.add(form_input.output_variable_name)
        ids: set[str] = set()
        for i, action in enumerate(self.data.user_actions):
            if not _IDENTIFIER.match(action.id) or len(action.id) > 20:
                raise NodeConfigError(f"user_actions[{i}].id", f"'{action.id}' is not a valid identifier")
            if action.id in ids:
                raise NodeConfigError(f"user_actions[{i}].id", f"duplicated user action id '{action.id}'")
            ids.add(action.id)
        if self.data.timeout < 0:
            raise NodeConfigError("timeout", "must not be negative")

    @property
    def timeout_s(self) -> float:
        return self.data.timeout * _HOURS[self.data.timeout_unit]

    def action_title(self, action_id: str) -> str:
        return next((a.title for a in self.data.user_actions if a.id == action_id), action_id)

    async def run(self, ctx: NodeContext) -> NodeResult:
        if ctx.scope.depth > 0:
            raise HumanInputNotAvailable("A Human Input node cannot run inside an iteration or a loop.")
        content = render_markdown(self.data.form_content, ctx.pool)
        decisions = ctx.services.human_input
        decision = decisions.decision(ctx.execution_id) if decisions is not None else None
        if isinstance(decision, FormSubmitted):
            outputs: dict[str, Any] = dict(decision.data)
            outputs["__action_id"] = decision.action_id
            outputs["__action_value"] = self.action_title(decision.action_id)
            rendered = render_with_values(content, decision.data, self.data.inputs)
            outputs["__rendered_content"] = rendered
            ctx.emit(
                HumanInputFormFilled(
                    node_id=self.id,
                    node_title=self.title,
                    rendered_content=rendered,
                    action_id=decision.action_id,
                    action_text=self.action_title(decision.action_id),
                    submitted_data=dict(decision.data),
                )
            )
            return NodeResult(outputs=outputs, edge_source_handle=decision.action_id)
        if isinstance(decision, FormTimedOut):
            ctx.emit(HumanInputFormTimeout(self.id, self.title, decision.expiration_time))
            rendered = render_with_values(content, {}, self.data.inputs)
            return NodeResult(outputs={"__rendered_content": rendered}, edge_source_handle=TIMEOUT_HANDLE)
        return NodeResult(
            pause=FormRequest(
                node_id=self.id,
                node_title=self.title,
                execution_id=ctx.execution_id,
                form_content=content,
                inputs=[i.model_dump(exclude_none=True) for i in self.data.inputs],
                actions=[a.model_dump() for a in self.data.user_actions],
                resolved_default_values=self._defaults(ctx),
                timeout_s=self.timeout_s,
            )
        )

    def _defaults(self, ctx: NodeContext) -> dict[str, str]:
        values: dict[str, str] = {}
        for form_input in self.data.inputs:
            source = form_input.default
            if form_input.type != "paragraph" or source is None:
                continue
            if source.type == "constant":
                values[form_input.output_variable_name] = str(source.value or "")
            else:
                value = ctx.pool.get(source.selector)
                if value is not None:
                    values[form_input.output_variable_name] = to_text(value)
        return values


def render_with_values(content: str, values: Mapping[str, Any], inputs: Sequence[FormInput]) -> str:
    """Fill `{{#$output.name#}}` with submitted values (files as `[file]` / `[N files]`, as Dify shows them)."""
    kinds = {i.output_variable_name: i.type for i in inputs}

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None:
            return ""
        if kinds.get(name) == "file":
            return "[file]"
        if kinds.get(name) == "file-list":
            return f"[{len(value) if isinstance(value, list) else 0} files]"
        return to_text(value)

    return _OUTPUT_FIELD.sub(value_of, content)

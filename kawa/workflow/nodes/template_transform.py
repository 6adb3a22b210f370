"""The `template-transform` node: renders a Jinja2 template over selected variables, in-process and sandboxed.

Dify renders in its out-of-process code sandbox (an HTTP call and a process per render); Jinja2's
`SandboxedEnvironment` gives the same isolation from Python internals at a fraction of the cost.
"""

from __future__ import annotations

from functools import cached_property

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext


class TemplateError(NodeError):
    pass


class TemplateVariable(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable: str
    value_selector: list[str] = Field(default_factory=list)


class TemplateTransformData(NodeData):
    variables: list[TemplateVariable] = Field(default_factory=list)
    template: str = ""


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=False, keep_trailing_newline=True, extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"]
    )


class TemplateTransformNode(Node[TemplateTransformData]):
    node_type = "template-transform"
    data_model = TemplateTransformData
    runs_inline = True

    def check(self) -> None:
        try:
            self._compiled  # noqa: B018 - compiles once, at graph compile time
        except jinja2.TemplateSyntaxError as exc:
            raise NodeConfigError("template", f"template syntax error at line {exc.lineno}: {exc.message}") from None

    @cached_property
    def _compiled(self) -> jinja2.Template:
        return _environment().from_string(self.data.template)

    async def run(self, ctx: NodeContext) -> NodeResult:
        variables = {v.variable: ctx.pool.get(v.value_selector) for v in self.data.variables}
        try:
            output = self._compiled.render(**variables)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"Failed to render template: {exc}") from None
        limit = ctx.limits.template_max_output_chars
        if len(output) > limit:
            raise TemplateError(f"Output length exceeds {limit} characters")
        return NodeResult(inputs=variables, outputs={"output": output})

"""The `code` node: runs the user's python3 or javascript `main` in the sandbox and checks its declared outputs.

The sandbox arrives as `NodeServices.code_runner` (the `CodeRunner` seam: a `kawa.sandbox.CodeSandbox`); output
limits come from the runner's settings (`config.limits`, Dify's by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.sandbox.outputs import OUTPUT_TYPES, OutputDeclaration, check_outputs
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.runtime import NodeContext


class SandboxNotConfigured(NodeError):
    pass


class CodeVariable(BaseModel):
    model_config = ConfigDict(extra="allow")

    variable: str
    value_selector: list[str] = Field(default_factory=list)


class CodeData(NodeData):
    variables: list[CodeVariable] = Field(default_factory=list)
    code_language: Literal["python3", "javascript"] = "python3"
    code: str = ""
    outputs: dict[str, OutputDeclaration] | None = None
    dependencies: list[Any] | None = None


def _check_declarations(declared: dict[str, OutputDeclaration], path: str) -> Iterator[tuple[str, str]]:
    for name, spec in declared.items():
        if spec.type not in OUTPUT_TYPES:
            yield f"{path}.{name}.type", f"unsupported output type {spec.type!r}"
        if spec.children:
            yield from _check_declarations(spec.children, f"{path}.{name}.children")


class CodeNode(Node[CodeData]):
    node_type = "code"
    data_model = CodeData

    def check(self) -> None:
        for path, problem in _check_declarations(self.data.outputs or {}, "outputs"):
            raise NodeConfigError(path, problem)
        names = [v.variable for v in self.data.variables]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise NodeConfigError(f"variables[{index}].variable", f"duplicate variable name {name!r}")

    async def run(self, ctx: NodeContext) -> NodeResult:
        runner = ctx.services.code_runner
        if runner is None:
            raise SandboxNotConfigured("The code sandbox is not configured on this server.")
        inputs = {v.variable: ctx.pool.get(v.value_selector) for v in self.data.variables}
        result = await runner.run(self.data.code_language, self.data.code, inputs)
        outputs = check_outputs(result, self.data.outputs, runner.config.limits)
        return NodeResult(inputs=inputs, process_data={}, outputs=outputs)  # Dify shows `{}`, not null

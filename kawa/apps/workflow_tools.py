"""Workflows published as tools (Dify's `workflow` tool provider): a tool node or agent calls a workflow app of this
server, which runs as a recorded run of its own and answers with its outputs.

An export names the tool by Dify's workflow-tool provider id and tool name. kawa finds the app by id (the provider id
is a kawa app id), else by name: a workflow app whose name, written as an identifier (`Order lookup` →
`order_lookup`), is the tool name or the provider name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kawa.apps.input_schema import input_schema
from kawa.apps.runners.workflow_runner import WorkflowRunner, WorkflowRunRequest
from kawa.dsl.document import app_input_variables
from kawa.errors import KawaError
from kawa.store.apps import AppStore
from kawa.store.tables import App
from kawa.tools.tool import ToolError, ToolOutput

AGENT_USER = "kawa-workflow-tool"


def identifier_of(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


@dataclass(frozen=True, slots=True)
class WorkflowAsTool:
    runner: WorkflowRunner
    app: App
    name: str
    parameters: Mapping[str, Any]

    @property
    def provider(self) -> str:
        return self.app.id

    @property
    def label(self) -> str:
        return self.app.name

    @property
    def description(self) -> str:
        return self.app.description or self.app.name

    async def call(self, arguments: Mapping[str, Any], *, user_id: str = "") -> ToolOutput:
        request = WorkflowRunRequest(inputs=dict(arguments), user=user_id or AGENT_USER)
        try:
            handle = await self.runner.start(self.app, request)
            body = await handle.blocking_result()
        except KawaError as error:
            raise ToolError(f"Workflow {self.app.name} could not run: {error.message}") from None
        data = body.get("data") or {}
        if data.get("status") != "succeeded":
            raise ToolError(f"Workflow {self.app.name} {data.get('status')}: {data.get('error') or 'no outputs'}")
        outputs = data.get("outputs") or {}
        return ToolOutput(json.dumps(outputs, ensure_ascii=False), [outputs])


class WorkflowTools:
    """Finds workflow apps by the names exports use; `bind` gives it the runner once the server has built it."""

    def __init__(self, apps: AppStore) -> None:
        self.apps = apps
        self.runner: WorkflowRunner | None = None

    def bind(self, runner: WorkflowRunner) -> None:
        self.runner = runner

    async def find(self, provider_id: str, tool_name: str) -> WorkflowAsTool | None:
        if self.runner is None:
            return None
        app = await self.apps.get(provider_id) if provider_id else None
        if app is None or app.mode != "workflow":
            wanted = {identifier_of(tool_name), identifier_of(provider_id.rsplit("/", 1)[-1])} - {""}
            app = next(
                (a for a in await self.apps.list() if a.mode == "workflow" and identifier_of(a.name) in wanted), None
            )
        if app is None:
            return None
        version = await self.apps.current_version(app)
        schema = input_schema(app_input_variables(version.document))
        return WorkflowAsTool(self.runner, app, tool_name or identifier_of(app.name), schema)

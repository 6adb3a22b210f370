"""The `agent` node: Dify's agent node with the official strategy plugin's `function_calling` and `ReAct` strategies
(`langgenius/agent/agent`), run by the shared loops of `kawa.workflow.agent` over the node's model and tools (built-in,
MCP, workflows published as tools).

Its `agent_parameters` are the plugin's: `model`, `tools`, `instruction`, `query`, `maximum_iterations` (3 by
default); `memory` adds the conversation so far. It streams the answer as its `text`, emits `agent_log` events, and
outputs `text`, `files`, `json` (the logs, then the tools' JSON) and `usage`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import aclosing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.models.tool_calls import ToolCallAccumulator
from kawa.models.types import ChatChunk, ChatCompletionRequest, ChatMessage, ToolCall, ToolDefinition, Usage
from kawa.workflow.agent import AgentEvent, AgentFinished, AgentThought, MessageDelta, run_function_calling, run_react
from kawa.workflow.agent.steps import LoopControl
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.agent_logs import AgentLogWriter
from kawa.workflow.nodes.agent_tools import NodeAgentTool, ToolCallRecord, resolve_agent_tools
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.nodes.model_call import MemoryData, ModelData, history, node_usage, runtime_of, usage_json
from kawa.workflow.nodes.tool_files import keep_tool_files
from kawa.workflow.ports import ChatModels
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text

OFFICIAL_PROVIDERS = frozenset({"", "langgenius/agent/agent", "langgenius/agent"})
STRATEGIES = {"function_calling": "function_calling", "react": "react", "cot": "react"}
DEFAULT_ITERATIONS = 3
MAX_ITERATIONS = 99


class AgentInput(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["mixed", "variable", "constant"] = "constant"
    value: Any = None


class AgentData(NodeData):
    agent_strategy_provider_name: str = ""
    agent_strategy_name: str = ""
    agent_strategy_label: str = ""
    agent_parameters: dict[str, AgentInput] = Field(default_factory=dict)
    memory: MemoryData | None = None


class AgentStrategyUnavailable(NodeError):
    pass


class AgentModelMissing(NodeError):
    pass


class NodeModelTurn:
    """One streamed call of the node's model, as the agent loop expects it (`ModelTurn`). A stopped run cancels the
    node's task, so a turn is never halted."""

    def __init__(self, models: ChatModels, provider: str, request: ChatCompletionRequest) -> None:
        self.models = models
        self.provider = provider
        self.request = request
        self.text = ""
        self.usage: Usage | None = None
        self.halted = False
        self.finish_reason: str | None = None
        self._calls = ToolCallAccumulator()

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self._calls.calls()

    async def stream(self) -> AsyncGenerator[ChatChunk, None]:
        async with aclosing(self.models.chat_stream(self.provider, self.request)) as chunks:
            async for chunk in chunks:
                self.text += chunk.text
                self._calls.add(chunk.tool_calls)
                if chunk.finish_reason:
                    self.finish_reason = chunk.finish_reason
                if chunk.usage is not None:
                    self.usage = chunk.usage
                yield chunk


def _model_of(value: Any) -> ModelData:
    """The plugin's model selector (`{provider, model, mode, completion_params, model_type, type}`)."""
    if not isinstance(value, Mapping) or not (value.get("model") or value.get("name")):
        raise AgentModelMissing("The agent node has no model: set agent_parameters.model.")
    return ModelData(
        provider=str(value.get("provider") or ""),
        name=str(value.get("model") or value.get("name")),
        mode="completion" if value.get("mode") == "completion" else "chat",
        completion_params=dict(value.get("completion_params") or {}),
    )


class AgentNode(Node[AgentData]):
    node_type = "agent"
    data_model = AgentData

    @property
    def strategy(self) -> str | None:
        return STRATEGIES.get(self.data.agent_strategy_name.lower())

    def check(self) -> None:
        if self.data.agent_strategy_name and self.strategy is None:
            return  # an unknown strategy imports; running it fails with a clear error (as for unknown tools)
        model = self.data.agent_parameters.get("model")
        if model is not None and model.type == "constant" and not isinstance(model.value, Mapping | None):
            raise NodeConfigError("agent_parameters.model.value", "must be a model selector")

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        for name, param in self.data.agent_parameters.items():
            if param.type == "variable" and isinstance(param.value, list):
                yield f"agent_parameters.{name}.value", param.value

    def _parameter(self, ctx: NodeContext, name: str) -> Any:
        param = self.data.agent_parameters.get(name)
        if param is None:
            return None
        if param.type == "variable":
            return ctx.pool.get(param.value) if isinstance(param.value, list) else None
        if isinstance(param.value, str):
            return render_text(param.value, ctx.pool)
        return param.value

    def _iterations(self, ctx: NodeContext) -> int:
        raw = self._parameter(ctx, "maximum_iterations")
        if raw is None:
            raw = self._parameter(ctx, "max_iterations")
        try:
            wanted = int(raw) if raw not in (None, "") else DEFAULT_ITERATIONS
        except (TypeError, ValueError):
            wanted = DEFAULT_ITERATIONS
        return max(1, min(MAX_ITERATIONS, wanted))

    def _check_strategy(self) -> str:
        data = self.data
        strategy = self.strategy or ("function_calling" if not data.agent_strategy_name else None)
        if data.agent_strategy_provider_name not in OFFICIAL_PROVIDERS or strategy is None:
            raise AgentStrategyUnavailable(
                f"Agent strategy {data.agent_strategy_name or '(none)'} of "
                f"{data.agent_strategy_provider_name or 'the agent node'} is not available in kawa: it runs "
                "langgenius/agent/agent's function_calling and ReAct."
            )
        return strategy

    async def run(self, ctx: NodeContext) -> NodeResult:
        strategy = self._check_strategy()
        model = _model_of(self._parameter(ctx, "model"))
        models = runtime_of(ctx)
        instruction = str(self._parameter(ctx, "instruction") or "")
        query = self._parameter(ctx, "query")
        query_text = query if isinstance(query, str) else "" if query is None else str(query)
        iterations = self._iterations(ctx)
        record = ToolCallRecord()
        user_id = str(ctx.pool.get(["sys", "user_id"]) or "")
        tools = await resolve_agent_tools(self._parameter(ctx, "tools"), ctx.services, user_id=user_id, record=record)
        past = history(ctx, self.data.memory)
        conversation = [*past, ChatMessage.user(query_text)] if query_text or not past else past

        def call(
            messages: list[ChatMessage], *, tools: list[ToolDefinition] | None = None, stop: list[str] | None = None
        ) -> NodeModelTurn:
            params = model.params()
            if stop:
                params = params.model_copy(update={"stop": list(dict.fromkeys([*params.stop, *stop]))[:4]})
            request = ChatCompletionRequest(
                model=model.name,
                messages=messages,
                params=params,
                tools=tools or [],
                tool_choice="auto" if tools else None,
                user=user_id or None,
            )
            return NodeModelTurn(models, model.provider, request)

        control = LoopControl(stopped=asyncio.Event(), halt=asyncio.Event())
        events: AsyncGenerator[AgentEvent, None]
        if strategy == "function_calling":
            system = [ChatMessage.system(instruction)] if instruction.strip() else []
            events = run_function_calling(call, [*system, *conversation], tools, iterations, control)
        else:
            events = run_react(call, conversation, instruction, tools, iterations, control)
        logs = AgentLogWriter(ctx, model.name)
        finished = await self._follow(ctx, events, logs)
        tool_json: list[dict[str, Any]] = list(record.json) or [{"data": []}]
        files, files_note = await keep_tool_files(ctx, record.files)
        return NodeResult(
            inputs={"query": query_text, "instruction": instruction, "tools": sorted(tools), "iterations": iterations},
            outputs={
                "text": finished.answer,
                "files": files,
                "json": [*logs.as_json(), *tool_json],
                "usage": usage_json(finished.usage),
            },
            usage=node_usage(finished.usage),
            process_data={"files_note": files_note} if files_note else None,
            metadata={
                "agent_strategy": self.data.agent_strategy_name or strategy,
                "agent_log": logs.as_json(),
                "tool_info": _tool_info(tools),
            },
        )

    @staticmethod
    async def _follow(
        ctx: NodeContext, events: AsyncGenerator[AgentEvent, None], logs: AgentLogWriter
    ) -> AgentFinished:
        finished: AgentFinished | None = None
        async with aclosing(events):
            async for event in events:
                if isinstance(event, MessageDelta):
                    ctx.stream_text("text", event.text)
                elif isinstance(event, AgentThought):
                    logs.on_thought(event)
                else:
                    finished = event
        logs.close_round()
        assert finished is not None, "an agent loop always ends with AgentFinished"
        return finished


def _tool_info(tools: Mapping[str, NodeAgentTool]) -> dict[str, Any]:
    return {name: {"provider": tool.tool.provider, "label": tool.label} for name, tool in tools.items()}

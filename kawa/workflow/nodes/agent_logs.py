"""The `agent_log` events of an `agent` node, made from the agent loop's thoughts as Dify's agent strategy plugin
reports them: a `ROUND n` log per round, under it the model's thought and one `CALL tool` log per tool call."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from kawa.workflow.agent import AgentThought
from kawa.workflow.events import NodeLog
from kawa.workflow.runtime import NodeContext


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class AgentLogWriter:
    """Emits logs as thoughts arrive; `logs` keeps every emitted log (the node's `json` output and metadata)."""

    def __init__(self, ctx: NodeContext, model_name: str) -> None:
        self.ctx = ctx
        self.model_name = model_name
        self.logs: list[NodeLog] = []
        self._round: tuple[str, str, float] | None = None  # thought id, round log id, started at
        self._thought_logged: set[str] = set()
        self._last: AgentThought | None = None

    def on_thought(self, thought: AgentThought) -> None:
        if self._round is None or self._round[0] != thought.id:
            self.close_round()
            round_id = str(uuid.uuid4())
            self._round = (thought.id, round_id, time.time())
            self._emit(round_id, f"ROUND {thought.position}", None, "start", {})
        round_id = self._round[1]
        self._last = thought
        if thought.observation:
            inputs, outputs = _json_object(thought.tool_input), _json_object(thought.observation)
            for name in filter(None, thought.tool.split(";")):
                data = {"tool_name": name, "tool_call_args": inputs.get(name), "output": outputs.get(name)}
                self._emit(str(uuid.uuid4()), f"CALL {name}", round_id, "success", data)
        elif thought.id not in self._thought_logged and thought != AgentThought(thought.id, thought.position):
            self._thought_logged.add(thought.id)
            data = {"output": thought.thought, "tool_name": thought.tool, "tool_input": thought.tool_input}
            self._emit(str(uuid.uuid4()), f"{self.model_name} Thought", round_id, "success", data)

    def close_round(self) -> None:
        if self._round is None or self._last is None:
            return
        _, round_id, started = self._round
        last = self._last
        data = {"output": last.observation or last.thought, "tool_name": last.tool}
        self._emit(round_id, f"ROUND {last.position}", None, "success", data, elapsed=time.time() - started)
        self._round = None

    def _emit(
        self, log_id: str, label: str, parent: str | None, status: str, data: dict[str, Any], elapsed: float = 0.0
    ) -> None:
        log = NodeLog(
            node_id=self.ctx.node_id,
            node_execution_id=self.ctx.execution_id,
            id=log_id,
            label=label,
            parent_id=parent,
            status=status,
            data=data,
            metadata={"elapsed_time": round(elapsed, 6), "provider": self.model_name} if status != "start" else {},
        )
        self.logs.append(log)
        self.ctx.emit(log)

    def as_json(self) -> list[dict[str, Any]]:
        """The final state of each log (a round's success replaces its start), as the node's `json` lists them."""
        final: dict[str, NodeLog] = {}
        for log in self.logs:
            final[log.id] = log
        return [
            {
                "id": log.id,
                "parent_id": log.parent_id,
                "error": log.error,
                "status": log.status,
                "data": dict(log.data),
                "label": log.label,
                "metadata": dict(log.metadata or {}),
                "node_id": log.node_id,
            }
            for log in final.values()
        ]

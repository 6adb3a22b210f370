"""Chatflow (advanced-chat) mode: the graph engine generates the answer; Answer nodes stream `message` events.

The run is recorded like a workflow run (so `GET /workflows/run/:id` shows it), conversation variables persist per
conversation, and the events keep Dify's order: workflow events, messages, `workflow_finished`, then `message_end`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

from kawa.apps.chat_runner import Turn
from kawa.apps.run_recorder import RunRecorder
from kawa.apps.wire import jsonable, node_event
from kawa.apps.workflow_runner import GraphCache, environment_of
from kawa.dsl.document import app_features
from kawa.knowledge import retriever_resources_from_context
from kawa.models.types import Message as ModelMessage
from kawa.store.clock import new_id
from kawa.store.conversations import ConversationStore
from kawa.store.runs import RunStore
from kawa.store.tables import WorkflowRun
from kawa.workflow import events as ev
from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.runtime import EngineLimits, NodeServices


def history_messages(turn: Turn) -> list[ModelMessage]:
    messages: list[ModelMessage] = []
    for past in turn.history:
        if past.status == "error":
            continue
        messages.append(ModelMessage(role="user", content=past.query))
        messages.append(ModelMessage(role="assistant", content=past.answer))
    return messages


class ChatflowMode:
    def __init__(
        self,
        *,
        graphs: GraphCache,
        runs: RunStore,
        conversations: ConversationStore,
        node_services: NodeServices,
        limits: EngineLimits,
    ) -> None:
        self.graphs = graphs
        self.runs = runs
        self.conversations = conversations
        self.node_services = node_services
        self.limits = limits

    async def run(self, turn: Turn) -> None:
        graph = self.graphs.get(turn.version)
        conversation = turn.conversation
        assert conversation is not None
        run_id = new_id()
        turn.workflow_run_id = run_id
        recorder = RunRecorder(self.runs, run_id=run_id, app_id=turn.app.id)
        await recorder.start(
            WorkflowRun(
                id=run_id,
                app_id=turn.app.id,
                workflow_id=turn.version.id,
                task_id=turn.message.task_id,
                version=str(turn.version.number),
                triggered_from="app-run",
                conversation_id=conversation.id,
                status="running",
                inputs=jsonable(turn.inputs),
                outputs=None,
                end_user_id=turn.end_user.id,
                created_at=time.time(),
            )
        )
        system = {
            "query": turn.query,
            "files": turn.files,
            "conversation_id": conversation.id,
            "user_id": turn.end_user.session_id,
            "dialogue_count": len(turn.history) + 1,
            "app_id": turn.app.id,
            "workflow_id": turn.version.id,
            "workflow_run_id": run_id,
            "timestamp": int(time.time()),
        }
        environment, secrets = environment_of(turn.version.document)
        extras = {**self.node_services.extras, "conversation_history": history_messages(turn)}
        engine = WorkflowEngine(graph, services=replace(self.node_services, extras=extras), limits=self.limits)
        conversation_values = {v.name: v.value for v in await self.conversations.variables(conversation.id)}

        cite = bool((app_features(turn.version.document).get("retriever_resource") or {}).get("enabled"))

        def workflow_event(name: str, data: dict[str, Any]) -> None:
            turn.publish(name, {"workflow_run_id": run_id, "data": data})

        finished: ev.WorkflowFinished | None = None
        try:
            async for event in engine.run(
                inputs=turn.inputs,
                system=system,
                environment=environment,
                secret_env_names=secrets,
                conversation=conversation_values,
                stop=turn.stop,
            ):
                if isinstance(event, ev.WorkflowFinished):
                    finished = event
                    break
                await recorder.on_event(event)
                if isinstance(event, ev.WorkflowStarted):
                    workflow_event(
                        "workflow_started",
                        {
                            "id": run_id,
                            "workflow_id": turn.version.id,
                            "sequence_number": recorder.sequence_number,
                            "inputs": jsonable(event.inputs),
                            "created_at": int(event.created_at),
                        },
                    )
                elif isinstance(event, ev.TextChunk):
                    turn.answer += event.text
                    turn.publish(
                        "message",
                        {
                            "id": turn.message.id,
                            "answer": event.text,
                            "from_variable_selector": list(event.from_variable_selector),
                        },
                    )
                elif (named := node_event(event)) is not None:
                    if cite and isinstance(event, ev.NodeFinished) and event.node_type == "knowledge-retrieval":
                        turn.retriever_resources = retriever_resources_from_context(
                            list((event.outputs or {}).get("result") or []), "api"
                        )
                    workflow_event(*named)
        except BaseException:
            await recorder.fail("The server stopped while this run was in progress.")
            raise
        assert finished is not None
        run = await recorder.finish(finished)
        turn.conversation_variables = dict(finished.conversation_variables)
        turn.usage = {
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": finished.total_tokens,
            "total_price": format(Decimal(finished.total_price or 0), "f"),
            "currency": finished.currency or "USD",
        }
        workflow_event(
            "workflow_finished",
            {
                "id": run.id,
                "workflow_id": run.workflow_id,
                "status": run.status,
                "outputs": jsonable(run.outputs),
                "error": run.error,
                "elapsed_time": run.elapsed_time,
                "total_tokens": run.total_tokens,
                "total_steps": run.total_steps,
                "created_by": {"id": turn.end_user.id, "user": None},
                "created_at": int(run.created_at),
                "finished_at": int(run.finished_at or time.time()),
                "exceptions_count": run.exceptions_count,
                "files": [],
            },
        )
        if run.status == "failed":
            turn.status, turn.error = "error", run.error
        elif run.status == "stopped":
            turn.status, turn.error = "stopped", run.error

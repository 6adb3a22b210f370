"""Chatflow (advanced-chat) mode: the graph engine generates the answer; Answer nodes stream `message` events.

The run is recorded like a workflow run (so `GET /workflows/run/:id` shows it), conversation variables persist per
conversation, and the events keep Dify's order: workflow events, messages, `workflow_finished`, then `message_end`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from kawa.apps.event_payloads import (
    Payload,
    chatflow_answer_fields,
    chatflow_workflow_fields,
    jsonable,
    node_event,
    reasoning_chunk_data,
    workflow_finished_data,
    workflow_started_data,
)
from kawa.apps.runners.published_workflow import GraphCache, environment_of
from kawa.apps.runners.run_recorder import SERVER_STOPPED, RunRecorder
from kawa.apps.runners.turn import Turn
from kawa.dsl.document import app_features
from kawa.errors import client_message
from kawa.knowledge import retriever_resources_from_context
from kawa.models.types import ChatMessage
from kawa.store.clock import new_id
from kawa.store.conversations import ConversationStore
from kawa.store.runs import RunStore
from kawa.store.tables import WorkflowRun
from kawa.workflow import events as ev
from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.runtime import EngineLimits, NodeServices
from kawa.workflow.system_variables import SystemVariables

log = logging.getLogger("kawa.chat")


def history_messages(turn: Turn) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for past in turn.history:
        if past.status == "error":
            continue
        messages.append(ChatMessage(role="user", content=past.query))
        messages.append(ChatMessage(role="assistant", content=past.answer))
    return messages


class _ChatflowStream:
    """Turns one chatflow run's engine events into the message's stream, collecting the answer and citations."""

    def __init__(self, turn: Turn, recorder: RunRecorder, *, run_id: str, cite: bool) -> None:
        self.turn = turn
        self.recorder = recorder
        self.run_id = run_id
        self.cite = cite

    def workflow_event(self, name: str, data: Payload) -> None:
        self.turn.publish(name, chatflow_workflow_fields(self.run_id, data))

    def on_event(self, event: ev.EngineEvent) -> None:
        turn = self.turn
        if isinstance(event, ev.WorkflowStarted):
            data = workflow_started_data(
                event,
                workflow_run_id=self.run_id,
                workflow_id=turn.version.id,
                sequence_number=self.recorder.sequence_number,
            )
            self.workflow_event("workflow_started", data)
        elif isinstance(event, ev.TextChunk):
            turn.answer += event.text
            turn.publish("message", chatflow_answer_fields(turn.message.id, event))
        elif isinstance(event, ev.ReasoningChunk):  # beside the answer, not in it
            turn.publish("reasoning_chunk", {"data": {"message_id": turn.message.id, **reasoning_chunk_data(event)}})
        elif (named := node_event(event)) is not None:
            if self.cite and isinstance(event, ev.NodeFinished) and event.node_type == "knowledge-retrieval":
                turn.retriever_resources = retriever_resources_from_context(
                    list((event.outputs or {}).get("result") or []), "api"
                )
            self.workflow_event(*named)


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
        system = SystemVariables(
            query=turn.query,
            files=turn.files,
            conversation_id=conversation.id,
            user_id=turn.end_user.session_id,
            dialogue_count=len(turn.history) + 1,
            app_id=turn.app.id,
            workflow_id=turn.version.id,
            workflow_run_id=run_id,
            timestamp=int(time.time()),
        )
        environment, secrets = environment_of(turn.version.document)
        services = replace(self.node_services, conversation_history=history_messages(turn))
        engine = WorkflowEngine(graph, services=services, limits=self.limits)
        conversation_values = {v.name: v.value for v in await self.conversations.variables(conversation.id)}
        cite = bool((app_features(turn.version.document).get("retriever_resource") or {}).get("enabled"))
        stream = _ChatflowStream(turn, recorder, run_id=run_id, cite=cite)

        finished: ev.WorkflowFinished | None = None
        try:
            async for event in engine.run(
                inputs=turn.inputs,
                system=system.pool_values(),
                environment=environment,
                secret_env_names=secrets,
                conversation=conversation_values,
                stop=turn.stop,
            ):
                if isinstance(event, ev.WorkflowFinished):
                    finished = event
                    break
                await recorder.on_event(event)
                stream.on_event(event)
        except asyncio.CancelledError:
            await recorder.fail(SERVER_STOPPED)
            raise
        except Exception as exc:  # the engine or the store broke: the run and the message say so, without internals
            turn.status, turn.error = "error", client_message(exc, log=log, context=f"chatflow run {run_id}")
            await recorder.fail(turn.error)
            return
        assert finished is not None
        run = await recorder.finish(finished)
        turn.conversation_variables = dict(finished.conversation_variables)
        turn.usage = finished.llm_usage.model_dump(mode="json")  # the same shape as easy-UI apps' usage
        stream.workflow_event("workflow_finished", workflow_finished_data(run))
        if run.status == "failed":
            if finished.error_code is not None and finished.error_status not in (None, 400):
                # a node's KawaError that says when to retry (rate_limit_error 429, an upstream's 503): kept
                turn.status, turn.error = "error", run.error
                turn.error_code, turn.error_status = finished.error_code, finished.error_status or 400
            else:  # the graph failed (a node's error, a limit): Dify's answer is invalid_param, 400
                turn.status, turn.error = "error", f"Run failed: {run.error}"
                turn.error_code, turn.error_status = "invalid_param", 400
        elif run.status == "stopped":
            turn.status, turn.error = "stopped", run.error

"""Chat, agent-chat and completion modes: the easy-UI pipeline generates; this turns its events into the stream.

Also the conversation namer and the question suggester, which ask the app's model (a chatflow has no model of its
own: it uses `models.default_chat_model` when one is configured, as Dify uses the workspace default model).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from kawa.apps.chat_runner import Turn
from kawa.apps.easy_ui import (
    AgentThought,
    EasyUIRequest,
    HistoryTurn,
    MessageDelta,
    MessageReplace,
    PipelineFinished,
    Retriever,
    RetrieverResources,
    generate_conversation_name,
    run_pipeline,
    suggest_questions,
)
from kawa.dsl.document import GRAPH_MODES, app_features
from kawa.errors import BadRequest
from kawa.models.registry import ModelRuntime
from kawa.store.messages import MessageStore
from kawa.store.tables import App, AppVersion, Message


def history_turns(messages: list[Message]) -> list[HistoryTurn]:
    return [HistoryTurn(query=m.query, answer=m.answer) for m in messages if m.status != "error"]


UploadReader = Callable[[str, str], Awaitable[bytes]]  # (app_id, upload_file_id) -> bytes


class EasyUIMode:
    def __init__(self, models: ModelRuntime, retriever: Retriever | None, read_upload: UploadReader) -> None:
        self.models = models
        self.retriever = retriever
        self.read_upload = read_upload

    async def _model_files(self, turn: Turn) -> list[dict[str, Any]]:
        """Uploaded images go to the model inline (a `data:` URL): a hosted model cannot fetch kawa's own URLs."""
        files = []
        for file in turn.files:
            if file.get("type") == "image" and file.get("transfer_method") == "local_file" and file.get("related_id"):
                data = await self.read_upload(turn.app.id, str(file["related_id"]))
                encoded = base64.b64encode(data).decode()
                file = {**file, "url": f"data:{file.get('mime_type') or 'image/png'};base64,{encoded}"}
            files.append(file)
        return files

    async def run(self, turn: Turn) -> None:
        mode = turn.app.mode
        model_config = turn.version.document.get("model_config") or {}
        request = EasyUIRequest(
            mode=mode,
            model_config=model_config,
            query=turn.query,  # type: ignore[arg-type]
            inputs=turn.inputs,
            files=await self._model_files(turn),
            history=history_turns(turn.history),
            user=turn.end_user.session_id,
        )
        answer_event = "agent_message" if mode == "agent-chat" else "message"
        show_resources = bool((model_config.get("retriever_resource") or {}).get("enabled"))
        thoughts: dict[str, dict[str, Any]] = {}
        events = run_pipeline(request, models=self.models, retriever=self.retriever, stop=turn.stop)
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, MessageDelta):
                    turn.answer += event.text
                    turn.publish(answer_event, {"id": turn.message.id, "answer": event.text})
                elif isinstance(event, MessageReplace):
                    turn.answer = event.text
                    turn.publish("message_replace", {"answer": event.text, "reason": event.reason})
                elif isinstance(event, AgentThought):
                    thought = {
                        **asdict(event),
                        "message_files": list(event.message_files),
                        "tool_labels": dict(event.tool_labels),
                    }
                    thoughts[event.id] = thought
                    turn.agent_thoughts = list(thoughts.values())
                    turn.publish("agent_thought", thought)
                elif isinstance(event, RetrieverResources):
                    if show_resources:
                        turn.retriever_resources = [asdict(r) for r in event.resources]
                elif isinstance(event, PipelineFinished):
                    turn.answer = event.answer
                    turn.usage = event.usage.model_dump(mode="json")
                    if event.finish_reason == "stopped":
                        turn.status = "stopped"


def _model_config_of(models: ModelRuntime, app: App, version: AppVersion) -> dict[str, Any] | None:
    if app.mode not in GRAPH_MODES:
        return version.document.get("model_config") or {}
    default = models.config.default_chat_model
    if not default:
        return None
    provider, _, name = default.partition("/")
    return {"model": {"provider": provider, "name": name, "mode": "chat", "completion_params": {}}}


class ConversationNamer:
    def __init__(self, models: ModelRuntime) -> None:
        self.models = models

    async def __call__(self, app: App, version: AppVersion, query: str) -> str:
        model_config = _model_config_of(self.models, app, version)
        if model_config is None:
            return query[:47] + ("..." if len(query) > 47 else "")
        return await generate_conversation_name(query, models=self.models, model_config=model_config)


class Suggester:
    """`GET /messages/:id/suggested`: the next questions a user may ask, when the app turns the feature on."""

    def __init__(self, models: ModelRuntime, messages: MessageStore) -> None:
        self.models = models
        self.messages = messages

    async def __call__(self, app: App, version: AppVersion, message: Message) -> list[str]:
        if not (app_features(version.document).get("suggested_questions_after_answer") or {}).get("enabled"):
            raise BadRequest("Suggested Questions Is Disabled.")
        model_config = _model_config_of(self.models, app, version)
        if model_config is None or message.conversation_id is None:
            return []
        history = await self.messages.history(message.conversation_id, limit=3)
        return await suggest_questions(history_turns(history), models=self.models, model_config=model_config)

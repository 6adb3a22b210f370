"""Chat, agent-chat and completion modes: the easy-UI pipeline generates; this turns its events into the stream."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any

from kawa.apps.event_payloads import agent_thought_fields, answer_fields, message_file_fields, message_replace_fields
from kawa.apps.modes.easy_ui.agent_tools import ToolFileKeeper
from kawa.apps.modes.easy_ui.pipeline import run_pipeline
from kawa.apps.modes.easy_ui.pipeline_events import (
    AgentThought,
    MessageDelta,
    MessageFile,
    MessageReplace,
    PipelineFinished,
    RetrieverResources,
)
from kawa.apps.modes.easy_ui.request import EasyUIModeName, EasyUIRequest, HistoryTurn
from kawa.apps.modes.easy_ui.retrieval import CitationRetriever
from kawa.apps.runners.turn import Turn
from kawa.models.registry import ModelRuntime
from kawa.store.tables import Message
from kawa.tools.tool import ToolFile
from kawa.workflow.ports import FileOwner, FileSaver


def history_turns(messages: list[Message]) -> list[HistoryTurn]:
    return [HistoryTurn(query=m.query, answer=m.answer) for m in messages if m.status != "error"]


UploadReader = Callable[[str, str], Awaitable[bytes]]  # (app_id, upload_file_id) -> bytes
_MODE_NAMES: dict[str, EasyUIModeName] = {"chat": "chat", "completion": "completion", "agent-chat": "agent-chat"}


class EasyUIMode:
    """The `ChatMode` of chat, agent-chat and completion apps."""

    def __init__(
        self,
        models: ModelRuntime,
        retriever: CitationRetriever | None,
        read_upload: UploadReader,
        file_saver: FileSaver | None = None,
    ) -> None:
        self.models = models
        self.retriever = retriever
        self.read_upload = read_upload
        self.file_saver = file_saver

    def _file_keeper(self, turn: Turn) -> ToolFileKeeper | None:
        """Keeps the files an agent's tools produce as uploads of this app and end user (None: not kept)."""
        saver = self.file_saver
        if saver is None:
            return None
        owner = FileOwner(app_id=turn.app.id, user_id=turn.end_user.session_id)

        async def keep(files: Sequence[ToolFile]) -> list[dict[str, Any]]:
            return [await saver.save(f.content, filename=f.filename, mime_type=f.mime_type, owner=owner) for f in files]

        return keep

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
        mode = _MODE_NAMES[turn.app.mode]
        model_config = turn.version.document.get("model_config") or {}
        request = EasyUIRequest(
            mode=mode,
            model_config=model_config,
            query=turn.query,
            inputs=turn.inputs,
            files=await self._model_files(turn),
            history=history_turns(turn.history),
            user=turn.end_user.session_id,
        )
        answer_event = "agent_message" if mode == "agent-chat" else "message"
        show_resources = bool((model_config.get("retriever_resource") or {}).get("enabled"))
        thoughts: dict[str, dict[str, Any]] = {}
        events = run_pipeline(
            request, models=self.models, retriever=self.retriever, stop=turn.stop, keep_files=self._file_keeper(turn)
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, MessageDelta):
                    turn.answer += event.text
                    turn.publish(answer_event, answer_fields(turn.message.id, event.text))
                elif isinstance(event, MessageReplace):
                    turn.answer = event.text
                    turn.publish("message_replace", message_replace_fields(event.text, event.reason))
                elif isinstance(event, MessageFile):
                    kept = {**event.file, "belongs_to": "assistant"}
                    turn.message.message_files = [*(turn.message.message_files or []), kept]
                    turn.publish("message_file", message_file_fields(event.file))
                elif isinstance(event, AgentThought):
                    thought = agent_thought_fields(event)
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

"""The chat runner: `/chat-messages` and `/completion-messages` for every chat mode.

It owns what all modes share — the conversation (found or created, one message at a time), the message record,
the stream envelope, stop and the final `message_end` — and hands the generation itself to a mode: the graph
engine for chatflows (`kawa.apps.modes.chatflow`), the easy-UI pipeline for chat, completion and agent apps
(`kawa.apps.modes.easy_ui`). Each message runs in its own task under the `TaskSupervisor`, so a disconnecting
client neither stops nor loses it, and messages count against the app's concurrency limit like workflow runs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kawa.apps.event_payloads import (
    jsonable,
    message_blocking_body,
    message_end_fields,
    message_envelope,
    message_error_fields,
    message_metadata,
)
from kawa.apps.inputs.files import resolve_request_files
from kawa.apps.inputs.form import validate_inputs
from kawa.apps.runners.supervisor import TaskSupervisor
from kawa.apps.runners.task_handle import TaskHandle
from kawa.apps.runners.turn import ChatMode, Turn
from kawa.apps.speech_autoplay import AutoPlay, SpeechSynthesizer, auto_play_voice
from kawa.dsl.document import GRAPH_MODES, app_features, app_input_variables
from kawa.errors import InvalidParam, KawaError, NotFound, client_message
from kawa.settings import Settings
from kawa.store.apps import AppStore
from kawa.store.clock import new_id
from kawa.store.conversations import ConversationStore
from kawa.store.end_users import EndUserStore
from kawa.store.files import UploadFileStore
from kawa.store.messages import MessageStore
from kawa.store.tables import App, AppVersion, Conversation, EndUser, Message
from kawa.workflow.events import STOPPED_BY_USER

log = logging.getLogger("kawa.chat")
SERVER_STOPPED = "The server stopped while this message was in progress."

ConversationNamerFn = Callable[[App, AppVersion, str], Awaitable[str]]
"""(app, version, first query) -> a conversation name."""


@dataclass(frozen=True)
class MessageRequest:
    """A `/chat-messages` or `/completion-messages` request (not `kawa.models.ChatCompletionRequest`, a model call)."""

    query: str
    inputs: dict[str, Any]
    user: str
    streaming: bool
    conversation_id: str | None = None
    files: list[dict[str, Any]] | None = None
    auto_generate_name: bool = True
    workflow_id: str | None = None
    completion: bool = False


@dataclass(kw_only=True)
class MessageHandle(TaskHandle):
    message_id: str
    conversation_id: str | None
    mode: str
    created_at: int

    def publish(self, event: str, fields: dict[str, Any]) -> None:
        if not self.streaming:
            return
        self.put(
            message_envelope(
                event,
                task_id=self.task_id,
                message_id=self.message_id,
                conversation_id=self.conversation_id,
                created_at=self.created_at,
                fields=fields,
            )
        )


@dataclass(frozen=True)
class _Context:
    """What a message starts from, resolved before its task is spawned."""

    version: AppVersion
    end_user: EndUser
    conversation: Conversation | None
    inputs: dict[str, Any]
    files: list[dict[str, Any]]


def conversation_name_from(query: str) -> str:
    """The name a conversation starts with, before (or instead of) a generated one."""
    query = query.strip()
    if not query:
        return "New conversation"
    return query[:20] + ("…" if len(query) > 20 else "")


class ChatRunner:
    def __init__(
        self,
        *,
        settings: Settings,
        apps: AppStore,
        end_users: EndUserStore,
        files: UploadFileStore,
        conversations: ConversationStore,
        messages: MessageStore,
        tasks: TaskSupervisor,
        modes: Mapping[str, ChatMode],
        namer: ConversationNamerFn | None = None,
        speech: SpeechSynthesizer | None = None,
    ) -> None:
        self.settings = settings
        self.apps = apps
        self.end_users = end_users
        self.files = files
        self.conversations = conversations
        self.messages = messages
        self.tasks = tasks
        self.modes = modes
        self.namer = namer
        self.speech = speech  # text-to-speech auto-play of streamed answers, for apps that turn it on

    async def _version(self, app: App, workflow_id: str | None) -> AppVersion:
        if workflow_id is None or app.mode not in GRAPH_MODES:
            return await self.apps.current_version(app)
        version = await self.apps.version(workflow_id)
        if version is None or version.app_id != app.id:
            raise NotFound(f"Workflow not found with id: {workflow_id}")
        return version

    async def _context(self, app: App, request: MessageRequest) -> _Context:
        version = await self._version(app, request.workflow_id)
        end_user = await self.end_users.get_or_create(app.id, request.user)
        conversation = None
        if request.conversation_id:
            conversation = await self.conversations.get(request.conversation_id, app_id=app.id, end_user_id=end_user.id)
            if conversation is None:
                raise NotFound("Conversation Not Exists.", code="not_found")
        if conversation is not None and app.mode in GRAPH_MODES:
            inputs = dict(conversation.inputs)
        else:
            inputs = validate_inputs(app_input_variables(version.document), request.inputs)
        inputs, files = await resolve_request_files(
            self.settings,
            self.files,
            app_id=app.id,
            end_user_id=end_user.id,
            document=version.document,
            inputs=inputs,
            request_files=request.files,
        )
        return _Context(version, end_user, conversation, inputs, files)

    async def _new_conversation(self, app: App, request: MessageRequest, context: _Context) -> Conversation:
        version = context.version
        conversation = await self.conversations.create(
            app_id=app.id,
            end_user_id=context.end_user.id,
            mode=app.mode,
            name=conversation_name_from(request.query),
            inputs=jsonable(context.inputs),
            introduction=app_features(version.document).get("opening_statement") or "",
            variables=list((version.document.get("workflow") or {}).get("conversation_variables") or []),
        )
        if request.auto_generate_name and self.namer is not None:
            self.tasks.spawn_background(
                self._name_conversation(app, version, conversation, request.query),
                name=f"name-conversation-{conversation.id}",
            )
        return conversation

    async def start(self, app: App, request: MessageRequest) -> MessageHandle:
        # The message's place in its conversation is taken before any await: turns run in arrival order.
        with self.tasks.admit(app.id) as slot, self.tasks.conversations.place(request.conversation_id) as ticket:
            await self.tasks.admit_globally(slot)
            if app.mode == "agent-chat" and not request.streaming:
                raise InvalidParam("Agent Chat App does not support blocking mode")
            context = await self._context(app, request)
            task_id, message_id = new_id(), new_id()
            created = time.time()
            conversation, is_new = context.conversation, context.conversation is None
            if conversation is None and not request.completion:
                conversation = await self._new_conversation(app, request, context)
            if conversation is not None:
                ticket.join(conversation.id)  # a no-op for an existing one; a new one is first in its queue
            handle = MessageHandle(
                task_id=task_id,
                message_id=message_id,
                conversation_id=conversation.id if conversation else None,
                mode=app.mode,
                created_at=int(created),
                streaming=request.streaming,
            )
            message = Message(
                id=message_id,
                app_id=app.id,
                conversation_id=handle.conversation_id,
                end_user_id=context.end_user.id,
                task_id=task_id,
                mode=app.mode,
                inputs=jsonable(context.inputs),
                query=request.query,
                answer="",
                status="running",
                message_files=jsonable(context.files),
                agent_thoughts=[],
                retriever_resources=[],
                created_at=created,
                updated_at=created,
            )

            async def work(stop: asyncio.Event) -> None:
                try:
                    async with ticket:
                        # Stamped when its turn begins, so that history (ordered by time) is the order of turns.
                        message.created_at = message.updated_at = time.time()
                        try:
                            history = (
                                await self.messages.history(conversation.id) if conversation and not is_new else []
                            )
                            await self.messages.add(message)
                        except Exception as exc:  # no message row to settle: the client still gets an end
                            self._end_unstarted(handle, exc)
                            return
                        speech = self._auto_play(context.version, handle)
                        turn = Turn(
                            app=app,
                            version=context.version,
                            end_user=context.end_user,
                            conversation=conversation,
                            message=message,
                            query=request.query,
                            inputs=context.inputs,
                            files=context.files,
                            history=history,
                            stop=stop,
                            publish=speech.publish if speech is not None else handle.publish,
                        )
                        await self._run_turn(handle, turn, speech)
                except asyncio.CancelledError:  # a shutdown, maybe while waiting for the conversation
                    if not handle.ended:
                        self._end_unstarted(handle, None)
                    raise
                finally:
                    await ticket.release()  # also when cancelled before its turn came

            ticket.handed_to_task = True
            return self.tasks.spawn(
                slot, handle, end_user_id=context.end_user.id, work=work, name=f"message-{message_id}"
            )

    def _auto_play(self, version: AppVersion, handle: MessageHandle) -> AutoPlay | None:
        """Speech of the answer when the app auto-plays it (streaming only, as in Dify)."""
        if self.speech is None or not handle.streaming:
            return None
        voice = auto_play_voice(version.document)
        return None if voice is None else AutoPlay(self.speech, handle.publish, voice)

    async def _run_turn(self, handle: MessageHandle, turn: Turn, speech: AutoPlay | None = None) -> None:
        started = time.perf_counter()
        try:
            await self.modes[turn.app.mode].run(turn)
        except KawaError as exc:
            turn.status, turn.error, turn.error_code = (
                "error",
                client_message(exc, log=log, context="message"),
                exc.code,
            )
            turn.error_status = exc.status
        except asyncio.CancelledError:  # the server is shutting down and this message did not end in time
            if speech is not None:
                speech.stop()
            turn.status, turn.error, turn.error_code = "error", SERVER_STOPPED, "internal_server_error"
            try:
                await asyncio.shield(self._record(turn, time.perf_counter() - started))
            except Exception:
                log.exception("could not record message %s: its lease will lapse", turn.message.id)
            finally:
                self._finish(handle, turn)
            raise
        except Exception as exc:
            turn.status, turn.error = "error", client_message(exc, log=log, context=f"message {turn.message.id}")
        if turn.stop.is_set() and turn.status == "normal":
            turn.status, turn.error = "stopped", STOPPED_BY_USER
        try:
            await self._record(turn, time.perf_counter() - started)
        except Exception as exc:  # tell the client; the row's lease lapses and a reaper settles it
            turn.status, turn.error = (
                "error",
                client_message(exc, log=log, context=f"recording message {turn.message.id}"),
            )
            turn.error_code = "internal_server_error"
        if speech is None or turn.status == "error":
            if speech is not None:
                speech.stop()
            self._finish(handle, turn)
            return
        self._finish(handle, turn, end_stream=False)
        await speech.finish()  # Dify sends the rest of the audio, then `tts_message_end`, after `message_end`
        handle.end_stream()

    @staticmethod
    def _end_unstarted(handle: MessageHandle, error: Exception | None) -> None:
        """End the stream (and a blocking wait) of a message that failed (or, with None, was cancelled by a
        shutdown) before its row was written."""
        if error is not None:
            text = client_message(error, log=log, context=f"starting message {handle.message_id}")
            code, status = (
                (error.code, error.status) if isinstance(error, KawaError) else ("internal_server_error", 500)
            )
        else:
            text, code, status = SERVER_STOPPED, "internal_server_error", 500
        handle.publish("error", message_error_fields(code, status, text))
        handle.end_stream()
        if not handle.result.done():
            handle.result.set_exception(KawaError(text, code=code, status=status))
            handle.result.exception()  # retrieved here: a blocking caller may have gone away

    async def _record(self, turn: Turn, latency: float) -> None:
        usage = {**turn.usage, "latency": round(latency, 6)}
        conversation = turn.conversation
        update = (
            None
            if conversation is None
            else functools.partial(
                self.conversations.after_turn,
                conversation_id=conversation.id,
                dialogue_count=len(turn.history) + 1,
                variables=jsonable(turn.conversation_variables),
            )
        )
        await self.messages.finish(
            turn.message.id,
            {
                "answer": turn.answer,
                "status": turn.status,
                "error": turn.error,
                "usage": jsonable(usage),
                "message_tokens": int(usage.get("prompt_tokens") or 0),
                "answer_tokens": int(usage.get("completion_tokens") or 0),
                "latency": latency,
                "retriever_resources": jsonable(turn.retriever_resources),
                "agent_thoughts": jsonable(turn.agent_thoughts),
                "message_files": jsonable(turn.message.message_files or []),  # with files an agent's tools made
                "workflow_run_id": turn.workflow_run_id,
            },
            conversation_update=update,
        )
        turn.usage = usage

    @staticmethod
    def _finish(handle: MessageHandle, turn: Turn, *, end_stream: bool = True) -> None:
        metadata = message_metadata(turn.retriever_resources, turn.usage)
        if turn.annotation_reply is not None:
            metadata["annotation_reply"] = jsonable(turn.annotation_reply)
        status = 500 if turn.error_code == "internal_server_error" else turn.error_status
        if turn.status == "error":
            handle.publish("error", message_error_fields(turn.error_code, status, turn.error))
        else:
            handle.publish("message_end", message_end_fields(handle.message_id, metadata))
        if end_stream:
            handle.end_stream()
        if handle.result.done():
            return
        if turn.status == "error":
            handle.result.set_exception(KawaError(turn.error, code=turn.error_code, status=status))
            handle.result.exception()  # retrieved here: a blocking caller may have gone away
            return
        handle.result.set_result(
            message_blocking_body(
                task_id=handle.task_id,
                message_id=handle.message_id,
                conversation_id=handle.conversation_id,
                mode=handle.mode,
                answer=turn.answer,
                metadata=metadata,
                created_at=handle.created_at,
            )
        )

    async def _name_conversation(self, app: App, version: AppVersion, conversation: Conversation, query: str) -> None:
        assert self.namer is not None
        try:
            name = await self.namer(app, version, query)
        except Exception:
            log.warning("could not generate a name for conversation %s", conversation.id, exc_info=True)
            return
        if name:
            await self.conversations.rename(conversation, name)

    async def wait_stopped(self, task_id: str, *, timeout: float) -> None:
        """Return once the message's task has ended (so the stop endpoint answers after it really stopped)."""
        await self.tasks.wait_stopped(task_id, timeout=timeout)

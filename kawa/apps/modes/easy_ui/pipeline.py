"""`run_pipeline`: one request of a chat, completion or agent-chat app, in Dify's order — prompt, input moderation,
dataset retrieval, prompt again with the context, the model (or the agent loop), output moderation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace

from kawa.apps.modes.easy_ui.agent_tools import ToolFileKeeper, resolve_tools, with_tool_files
from kawa.apps.modes.easy_ui.config import AppSettings, AppUnavailable, app_settings_of
from kawa.apps.modes.easy_ui.function_calling import run_function_calling
from kawa.apps.modes.easy_ui.generation import Generation, generate_plain
from kawa.apps.modes.easy_ui.moderation import OUTPUT_CHECK_CHARS, Moderator
from kawa.apps.modes.easy_ui.pipeline_events import (
    MessageDelta,
    MessageReplace,
    PipelineEvent,
    PipelineFinished,
    RetrieverResources,
)
from kawa.apps.modes.easy_ui.prompt import Prompt, PromptBuilder, image_parts, model_context_tokens
from kawa.apps.modes.easy_ui.react import run_react
from kawa.apps.modes.easy_ui.request import EasyUIRequest
from kawa.apps.modes.easy_ui.retrieval import CitationRetriever, context_of, dataset_ids_of, retrieval_query
from kawa.models.provider import Capability
from kawa.models.registry import ModelRuntime
from kawa.models.types import Usage

log = logging.getLogger(__name__)

OUTPUT_MODERATION = "output_moderation"


def _supports(models: ModelRuntime, settings: AppSettings, capability: Capability) -> bool:
    try:
        return models.resolve_chat(settings.model.provider, settings.model.name).provider.supports(capability)
    except Exception:
        return True  # the model call itself will report why the model cannot be used


async def _mirror(stop: asyncio.Event, halt: asyncio.Event) -> None:
    await stop.wait()
    halt.set()


async def run_pipeline(
    request: EasyUIRequest,
    *,
    models: ModelRuntime,
    retriever: CitationRetriever | None,
    stop: asyncio.Event,
    keep_files: ToolFileKeeper | None = None,
) -> AsyncGenerator[PipelineEvent, None]:
    """The events of one request, ending with `PipelineFinished`. Setting `stop` ends the model stream at once and
    finishes with the partial answer. Model errors propagate as kawa's typed errors."""
    settings = app_settings_of(request.mode, request.model_config)
    if settings.model.context_tokens is None:
        window = model_context_tokens(models, settings.model.provider, settings.model.name)
        settings = replace(settings, model=replace(settings.model, context_tokens=window))
    dataset_ids = dataset_ids_of(request.model_config)
    if dataset_ids and retriever is None:
        raise AppUnavailable("This app uses knowledge datasets, but knowledge retrieval is not available here.")
    images = image_parts(request.files, settings.image_detail)
    if images and not _supports(models, settings, Capability.VISION):
        log.info("model %s cannot see images; %d image(s) left out", settings.model.name, len(images))
        images = []
    builder = PromptBuilder(
        settings,
        app_mode=request.mode,
        inputs=request.inputs,
        query=request.query,
        images=images,
        history=request.history,
    )
    prompt = builder.build(None)

    moderator = Moderator(settings.moderation, models, settings.model.provider) if settings.moderation else None
    if moderator is not None:
        preset = await moderator.check_inputs(request.inputs, request.query)
        if preset is not None:
            sent = ""
            for character in preset:
                if stop.is_set():
                    break
                sent += character
                yield MessageDelta(character)
            yield PipelineFinished(
                answer=sent,
                usage=Usage(),
                prompt_messages=prompt.messages,
                finish_reason="stopped" if stop.is_set() else "moderated",
            )
            return

    context: str | None = None
    if dataset_ids and retriever is not None:
        query = retrieval_query(request.mode, request.model_config, request.query, request.inputs)
        config = request.model_config.get("dataset_configs") or {}
        segments = await retriever(dataset_ids, query, config) if query else []
        if segments and settings.show_retriever_resources:
            yield RetrieverResources(segments)
        context = context_of(segments)
        if context is not None:
            prompt = builder.build(context)

    halt = asyncio.Event()
    if stop.is_set():
        halt.set()
    mirror = asyncio.create_task(_mirror(stop, halt))
    try:
        generation = Generation(
            models=models,
            provider=settings.model.provider,
            model=settings.model.name,
            params=settings.model.params,
            user=request.user,
            halt=halt,
        )
        events = _strategy(settings, models, generation, builder, prompt, context, stop, keep_files)
        async with aclosing(_moderated(events, moderator, halt)) as moderated:
            async for event in moderated:
                yield event
    finally:
        mirror.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await mirror


def _strategy(
    settings: AppSettings,
    models: ModelRuntime,
    generation: Generation,
    builder: PromptBuilder,
    prompt: Prompt,
    context: str | None,
    stop: asyncio.Event,
    keep_files: ToolFileKeeper | None,
) -> AsyncGenerator[PipelineEvent, None]:
    """Plain call; function-calling agent when the model calls tools natively; ReAct otherwise (or when asked)."""
    agent = settings.agent
    if agent is None:
        return generate_plain(generation, prompt.messages, prompt.stop, stop)
    tools = resolve_tools(agent.tools, keep_files)
    base = builder.simple_chat(context).messages
    native = (
        agent.strategy == "function_call"
        and settings.model.mode == "chat"
        and _supports(models, settings, Capability.TOOL_CALLS)
    )
    if native:
        return with_tool_files(run_function_calling(generation, base, tools, agent.max_iteration, stop), tools)
    instruction = builder.system_text(context).rstrip()
    loop = run_react(generation, base, instruction, tools, agent.max_iteration, stop, agent.first_prompt)
    return with_tool_files(loop, tools)


async def _moderated(
    events: AsyncGenerator[PipelineEvent, None], moderator: Moderator | None, halt: asyncio.Event
) -> AsyncGenerator[PipelineEvent, None]:
    """Output moderation over the answer: checked while it streams (keywords) and once complete; a flagged answer
    is replaced by the preset (`MessageReplace`) and the generation halted."""
    answer = ""
    checked = 0
    replacement: str | None = None
    finished: PipelineFinished | None = None
    async with aclosing(events) as stream:
        async for event in stream:
            if isinstance(event, PipelineFinished):
                finished = event
                continue
            if not isinstance(event, MessageDelta):
                yield event
                continue
            if replacement is not None:
                continue
            answer += event.text
            yield event
            if (
                moderator is not None
                and moderator.checks_output_while_streaming
                and len(answer) - checked >= OUTPUT_CHECK_CHARS
            ):
                checked = len(answer)
                replacement = await moderator.check_output(answer)
                if replacement is not None:
                    yield MessageReplace(replacement, OUTPUT_MODERATION)
                    halt.set()
    if finished is None:  # the strategies always finish; this only guards a programming error
        raise RuntimeError("generation ended without a result")
    if replacement is None and moderator is not None and moderator.checks_outputs:
        replacement = await moderator.check_output(finished.answer)
        if replacement is not None:
            yield MessageReplace(replacement, OUTPUT_MODERATION)
    yield replace(finished, answer=replacement) if replacement is not None else finished

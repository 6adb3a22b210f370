"""A typed view of the parts of a DSL `model_config` the easy-UI pipeline reads, parsed once per request."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kawa.errors import KawaError
from kawa.models.types import CompletionParams

log = logging.getLogger(__name__)

MAX_AGENT_ITERATIONS = 99
DEFAULT_AGENT_ITERATIONS = 10


class AppUnavailable(KawaError):
    """The app's configuration cannot run here (Dify's `app_unavailable`)."""

    code = "app_unavailable"
    status = 400
    default_message = "App unavailable, please check your app configurations."


@dataclass(frozen=True)
class ModelSettings:
    provider: str
    name: str
    mode: Literal["chat", "completion"]
    params: CompletionParams
    # The model's context window; None until the pipeline asks the model runtime (a DSL `context_size` wins).
    context_tokens: int | None = None


@dataclass(frozen=True)
class ModerationSettings:
    """`sensitive_word_avoidance`: `kind` is `keywords` or `openai_moderation`."""

    kind: str
    keywords: tuple[str, ...] = ()
    inputs_enabled: bool = False
    inputs_preset: str = ""
    outputs_enabled: bool = False
    outputs_preset: str = ""


@dataclass(frozen=True)
class AgentToolSettings:
    provider_id: str
    provider_type: str
    tool_name: str
    tool_label: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentSettings:
    strategy: Literal["function_call", "react"]
    tools: tuple[AgentToolSettings, ...]
    max_iteration: int
    first_prompt: str | None = None


@dataclass(frozen=True)
class AppSettings:
    model: ModelSettings
    prompt_type: Literal["simple", "advanced"]
    pre_prompt: str
    chat_prompt: tuple[tuple[str, str], ...]  # (role, text) of `chat_prompt_config.prompt`
    completion_prompt: str | None  # `completion_prompt_config.prompt.text`
    user_prefix: str
    assistant_prefix: str
    moderation: ModerationSettings | None
    agent: AgentSettings | None
    show_retriever_resources: bool
    image_detail: Literal["low", "high", "auto"]


_PARAM_TYPES: dict[str, type] = {
    "temperature": float,
    "top_p": float,
    "max_tokens": int,
    "presence_penalty": float,
    "frequency_penalty": float,
    "seed": int,
}


def completion_params_of(raw: Mapping[str, Any] | None) -> CompletionParams:
    """The parameters kawa passes on; other Dify knobs (e.g. `response_format` of a provider form) are dropped."""
    values: dict[str, Any] = {}
    for key, kind in _PARAM_TYPES.items():
        value = (raw or {}).get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            values[key] = kind(value)
        except (TypeError, ValueError):
            log.warning("ignoring completion parameter %s=%r", key, value)
    stop = (raw or {}).get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    values["stop"] = [str(s) for s in stop if s][:4]
    return CompletionParams(**values)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _enabled(value: Any) -> bool:
    return bool(_mapping(value).get("enabled"))


def model_settings_of(model_config: Mapping[str, Any]) -> ModelSettings:
    model = _mapping(model_config.get("model"))
    if not model.get("provider") or not model.get("name"):
        raise AppUnavailable("The app's model_config names no model (model.provider and model.name).")
    mode: Literal["chat", "completion"] = "completion" if model.get("mode") == "completion" else "chat"
    context = model.get("context_size")
    return ModelSettings(
        provider=str(model["provider"]),
        name=str(model["name"]),
        mode=mode,
        params=completion_params_of(_mapping(model.get("completion_params"))),
        context_tokens=context if isinstance(context, int) and context > 0 else None,
    )


def _moderation_of(model_config: Mapping[str, Any]) -> ModerationSettings | None:
    block = _mapping(model_config.get("sensitive_word_avoidance"))
    if not block.get("enabled"):
        return None
    kind = str(block.get("type") or "")
    config = _mapping(block.get("config"))
    inputs, outputs = _mapping(config.get("inputs_config")), _mapping(config.get("outputs_config"))
    if kind not in ("keywords", "openai_moderation"):
        log.warning("sensitive_word_avoidance type %r is not supported by kawa; moderation is skipped", kind)
        return None
    keywords = tuple(k for k in str(config.get("keywords") or "").split("\n") if k)
    return ModerationSettings(
        kind=kind,
        keywords=keywords,
        inputs_enabled=bool(inputs.get("enabled")),
        inputs_preset=str(inputs.get("preset_response") or ""),
        outputs_enabled=bool(outputs.get("enabled")),
        outputs_preset=str(outputs.get("preset_response") or ""),
    )


def _agent_of(model_config: Mapping[str, Any], mode: str) -> AgentSettings | None:
    block = _mapping(model_config.get("agent_mode"))
    if mode != "agent-chat":
        return None
    strategy: Literal["function_call", "react"] = (
        "react" if block.get("strategy") in ("react", "cot", "react_router") else "function_call"
    )
    tools = []
    for tool in block.get("tools") or []:
        # Old configs list datasets here as {"dataset": {...}}: those are retrieval, not tools.
        if not isinstance(tool, Mapping) or len(tool) < 4 or not tool.get("enabled"):
            continue
        tools.append(
            AgentToolSettings(
                provider_id=str(tool.get("provider_id") or tool.get("provider_name") or ""),
                provider_type=str(tool.get("provider_type") or "builtin"),
                tool_name=str(tool.get("tool_name") or ""),
                tool_label=str(tool.get("tool_label") or tool.get("tool_name") or ""),
                parameters=_mapping(tool.get("tool_parameters")),
            )
        )
    raw_max = block.get("max_iteration")
    max_iteration = raw_max if isinstance(raw_max, int) and raw_max > 0 else DEFAULT_AGENT_ITERATIONS
    prompt = _mapping(block.get("prompt"))
    first_prompt = prompt.get("first_prompt")
    return AgentSettings(
        strategy=strategy,
        tools=tuple(tools),
        max_iteration=min(max_iteration, MAX_AGENT_ITERATIONS),
        first_prompt=first_prompt if isinstance(first_prompt, str) and first_prompt else None,
    )


def app_settings_of(mode: str, model_config: Mapping[str, Any]) -> AppSettings:
    chat_prompt = tuple(
        (str(item.get("role") or "user"), str(item.get("text") or ""))
        for item in _mapping(model_config.get("chat_prompt_config")).get("prompt") or []
        if isinstance(item, Mapping)
    )
    completion_config = _mapping(model_config.get("completion_prompt_config"))
    completion_text = _mapping(completion_config.get("prompt")).get("text")
    roles = _mapping(completion_config.get("conversation_histories_role"))
    detail = _mapping(_mapping(model_config.get("file_upload")).get("image")).get("detail")
    return AppSettings(
        model=model_settings_of(model_config),
        prompt_type="advanced" if model_config.get("prompt_type") == "advanced" else "simple",
        pre_prompt=str(model_config.get("pre_prompt") or ""),
        chat_prompt=chat_prompt,
        completion_prompt=completion_text if isinstance(completion_text, str) else None,
        user_prefix=str(roles.get("user_prefix") or "Human"),
        assistant_prefix=str(roles.get("assistant_prefix") or "Assistant"),
        moderation=_moderation_of(model_config),
        agent=_agent_of(model_config, mode),
        show_retriever_resources=_enabled(model_config.get("retriever_resource")),
        image_detail=detail if detail in ("low", "high", "auto") else "low",
    )

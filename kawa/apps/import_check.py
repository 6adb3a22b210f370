"""What of an imported app kawa cannot run as configured: tools it does not have, agent strategies it does not know,
models no configured provider serves. Import still succeeds (the app may be fixed by settings later); these are
the warnings `kawa app import` prints and returns in its JSON.

Tools of provider types kawa resolves at run time from settings (`mcp`, `workflow`) are not checked here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kawa.dsl import AppDocument
from kawa.errors import KawaError
from kawa.models.registry import ModelRuntime
from kawa.tools.builtin import find_builtin_tool

BUILTIN_TOOL_TYPES = frozenset({"builtin", "plugin", ""})
KNOWN_AGENT_STRATEGIES = frozenset({"function_calling", "react", "cot"})
MODEL_NODE_TYPES = frozenset({"llm", "question-classifier", "parameter-extractor"})


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _tool_warning(where: str, provider_type: str, provider: str, tool: str) -> str | None:
    if provider_type not in BUILTIN_TOOL_TYPES or find_builtin_tool(provider, tool) is not None:
        return None
    return f"{where}: tool {tool} of provider {provider} is not available in kawa; running it fails."


def _model_warning(where: str, models: ModelRuntime, provider: str, name: str) -> str | None:
    if not provider or not name:
        return None
    try:
        models.resolve_chat(provider, name)
    except KawaError as e:
        return f"{where}: model {provider}/{name} cannot be used: {e.message}"
    return None


def _graph_nodes(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    graph = _mapping(_mapping(document.get("workflow")).get("graph"))
    for node in graph.get("nodes") or []:
        data = _mapping(_mapping(node).get("data"))
        title = str(data.get("title") or _mapping(node).get("id") or "")
        yield f"node {title!r} ({data.get('type')})", data


def _agent_node_warnings(where: str, data: Mapping[str, Any], models: ModelRuntime) -> Iterator[str | None]:
    strategy = str(data.get("agent_strategy_name") or "")
    if strategy.lower() not in KNOWN_AGENT_STRATEGIES:
        yield f"{where}: agent strategy {strategy or '(none)'} is not available in kawa (function_calling, ReAct)."
    parameters = _mapping(data.get("agent_parameters"))
    model = _mapping(_mapping(parameters.get("model")).get("value"))
    yield _model_warning(where, models, str(model.get("provider") or ""), str(model.get("model") or ""))
    for tool in _mapping(parameters.get("tools")).get("value") or []:
        tool = _mapping(tool)
        yield _tool_warning(
            where,
            str(tool.get("type") or tool.get("provider_type") or "builtin"),
            str(tool.get("provider_name") or tool.get("provider_id") or ""),
            str(tool.get("tool_name") or ""),
        )


def _node_warnings(where: str, data: Mapping[str, Any], models: ModelRuntime) -> Iterator[str | None]:
    kind = data.get("type")
    if kind == "tool":
        provider = str(data.get("provider_id") or data.get("provider_name") or "")
        yield _tool_warning(where, str(data.get("provider_type") or "builtin"), provider, str(data.get("tool_name")))
    elif kind == "agent":
        yield from _agent_node_warnings(where, data, models)
    elif kind in MODEL_NODE_TYPES:
        model = _mapping(data.get("model"))
        yield _model_warning(where, models, str(model.get("provider") or ""), str(model.get("name") or ""))
    elif kind == "human-input":
        yield from _human_input_warnings(where, data)


def _human_input_warnings(where: str, data: Mapping[str, Any]) -> Iterator[str | None]:
    methods = [_mapping(m) for m in data.get("delivery_methods") or []]
    if any(m.get("type") == "email" and m.get("enabled", True) for m in methods):
        yield (
            f"{where}: e-mail delivery is not available in kawa; its form is answered through the Service API "
            "(GET/POST /form/human_input/{form_token}, the token in human_input_required), as WebApp delivery is."
        )
    if data.get("isInIteration") or data.get("isInLoop"):
        yield f"{where}: inside an iteration or a loop a Human Input node cannot pause the run; running it fails."


def _easy_ui_warnings(config: Mapping[str, Any], models: ModelRuntime) -> Iterator[str | None]:
    model = _mapping(config.get("model"))
    yield _model_warning("model_config", models, str(model.get("provider") or ""), str(model.get("name") or ""))
    for tool in _mapping(config.get("agent_mode")).get("tools") or []:
        tool = _mapping(tool)
        if len(tool) < 4 or not tool.get("enabled"):  # old configs list datasets here, not tools
            continue
        yield _tool_warning(
            "agent_mode.tools",
            str(tool.get("provider_type") or "builtin"),
            str(tool.get("provider_id") or tool.get("provider_name") or ""),
            str(tool.get("tool_name") or ""),
        )


def unrunnable_warnings(doc: AppDocument, models: ModelRuntime) -> list[str]:
    """One warning per thing kawa cannot run, in document order."""
    found: list[str | None] = []
    for where, data in _graph_nodes(doc.document):
        found += _node_warnings(where, data, models)
    config = doc.document.get("model_config")
    if isinstance(config, Mapping):
        found += _easy_ui_warnings(config, models)
    return [warning for warning in found if warning]

"""Parse and validate a Dify app export into an `AppDocument`; errors name the exact path that is wrong.

The workflow graph of a graph-mode app is checked by the compiler the caller passes in (`check_graph`, in practice
`kawa.workflow.compile_graph`): kawa.dsl and kawa.workflow are independent siblings of the domain layer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from kawa.dsl.variables import INPUT_TYPES, from_user_input_form
from kawa.dsl.versions import NEWEST_SUPPORTED, OLDEST_SUPPORTED, parse_version, version_warning
from kawa.errors import DslError

MAX_DSL_BYTES = 10 * 1024 * 1024
APP_MODES = frozenset({"workflow", "advanced-chat", "chat", "agent-chat", "completion"})
GRAPH_MODES = frozenset({"workflow", "advanced-chat"})
VALUE_TYPES = frozenset(
    {
        "string",
        "number",
        "integer",
        "float",
        "secret",
        "boolean",
        "object",
        "array[string]",
        "array[number]",
        "array[object]",
        "array[boolean]",
    }
)
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


class GraphCheck(Protocol):
    """Validates a `workflow.graph` mapping, raising `DslError` whose path points into the document."""

    def __call__(self, graph: Mapping[str, Any], /) -> object: ...


@dataclass(frozen=True)
class AppDocument:
    """A validated app export. `document` is the normalised YAML mapping that gets stored and exported."""

    name: str
    mode: str
    description: str
    icon_type: str | None
    icon: str | None
    icon_background: str | None
    use_icon_as_answer_icon: bool
    dsl_version: str
    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def features(self) -> dict[str, Any]:
        """Feature settings, from `workflow.features` (graph modes) or `model_config` (chat modes)."""
        return app_features(self.document)

    @property
    def input_variables(self) -> list[dict[str, Any]]:
        return app_input_variables(self.document)


def load_dsl(text: str | bytes, *, check_graph: GraphCheck, allow_newer: bool = False) -> AppDocument:
    """Parse YAML text and validate it. Raises `DslError` (path + problem) for anything kawa cannot run."""
    if len(text) > MAX_DSL_BYTES:
        raise DslError("", f"the file is larger than {MAX_DSL_BYTES // (1024 * 1024)} MB")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise DslError("", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict):
        raise DslError("", "the document must be a mapping with `app` at the top level")
    return validate_document(doc, check_graph=check_graph, allow_newer=allow_newer)


def validate_document(doc: dict[str, Any], *, check_graph: GraphCheck, allow_newer: bool = False) -> AppDocument:
    warnings: list[str] = []
    raw_version = str(doc.get("version", "0.1.0"))
    version = parse_version(raw_version)
    if version is None:
        raise DslError("version", f"'{raw_version}' is not a version number")
    if version < OLDEST_SUPPORTED:
        raise DslError("version", f"{raw_version} is older than the oldest supported 0.1.0")
    if version[:2] > NEWEST_SUPPORTED[:2]:
        if not allow_newer:
            raise DslError(
                "version",
                f"{raw_version} is newer than the newest version kawa reads "
                f"({'.'.join(map(str, NEWEST_SUPPORTED))}); import with --force to try anyway",
            )
        warnings.append(f"DSL version {raw_version} is newer than kawa knows; imported anyway (--force).")
    elif (warning := version_warning(version)) is not None:
        warnings.append(warning)
    kind = doc.get("kind", "app")
    if kind != "app":
        raise DslError("kind", f"must be 'app', not {kind!r}")

    app = _mapping(doc, "app", "app")
    name = app.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DslError("app.name", "a non-empty string is required")
    mode = app.get("mode")
    if mode not in APP_MODES:
        raise DslError("app.mode", f"must be one of {sorted(APP_MODES)}, not {mode!r}")

    if mode in GRAPH_MODES:
        _validate_workflow_section(doc, mode, check_graph)
    else:
        _validate_model_config(doc, mode)

    normalised = dict(doc)
    normalised["kind"] = "app"
    normalised["version"] = raw_version
    description = app.get("description") or ""
    return AppDocument(
        name=name.strip(),
        mode=mode,
        description=str(description),
        icon_type=app.get("icon_type"),
        icon=app.get("icon"),
        icon_background=app.get("icon_background"),
        use_icon_as_answer_icon=bool(app.get("use_icon_as_answer_icon", False)),
        dsl_version=raw_version,
        document=normalised,
        warnings=warnings,
    )


def _validate_workflow_section(doc: dict[str, Any], mode: str, check_graph: GraphCheck) -> None:
    workflow = _mapping(doc, "workflow", "workflow")
    graph = _mapping(workflow, "graph", "workflow.graph")
    for key in ("nodes", "edges"):
        if not isinstance(graph.get(key, []), list):
            raise DslError(f"workflow.graph.{key}", "must be a list")
    _validate_declared_variables(workflow, "environment_variables", allow_secret=True)
    _validate_declared_variables(workflow, "conversation_variables", allow_secret=False)
    if mode == "workflow" and workflow.get("conversation_variables"):
        raise DslError("workflow.conversation_variables", "only chatflow (advanced-chat) apps have them")
    check_graph(graph)


def _validate_declared_variables(workflow: dict[str, Any], key: str, *, allow_secret: bool) -> None:
    items = workflow.get(key) or []
    if not isinstance(items, list):
        raise DslError(f"workflow.{key}", "must be a list")
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = f"workflow.{key}[{i}]"
        if not isinstance(item, dict):
            raise DslError(path, "must be a mapping")
        name = item.get("name")
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise DslError(f"{path}.name", f"{name!r} is not a valid variable name")
        if name in seen:
            raise DslError(f"{path}.name", f"duplicate variable name '{name}'")
        seen.add(name)
        value_type = item.get("value_type")
        if value_type not in VALUE_TYPES or (value_type == "secret" and not allow_secret):
            raise DslError(f"{path}.value_type", f"unknown value type {value_type!r}")
        if "value" not in item:
            raise DslError(f"{path}.value", "a value is required")


def _validate_model_config(doc: dict[str, Any], mode: str) -> None:
    config = _mapping(doc, "model_config", "model_config")
    model = _mapping(config, "model", "model_config.model")
    for key in ("provider", "name"):
        if not isinstance(model.get(key), str) or not model[key]:
            raise DslError(f"model_config.model.{key}", "a non-empty string is required")
    form = config.get("user_input_form") or []
    if not isinstance(form, list):
        raise DslError("model_config.user_input_form", "must be a list")
    seen: set[str] = set()
    for i, item in enumerate(form):
        path = f"model_config.user_input_form[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise DslError(path, "must be a mapping with exactly one input type")
        ((kind, body),) = item.items()
        if kind not in INPUT_TYPES:
            raise DslError(path, f"unknown input type {kind!r}")
        if not isinstance(body, dict):
            raise DslError(f"{path}.{kind}", "must be a mapping")
        variable = body.get("variable")
        if not isinstance(variable, str) or not _VARIABLE_NAME.match(variable):
            raise DslError(f"{path}.{kind}.variable", f"{variable!r} is not a valid variable name")
        if variable in seen:
            raise DslError(f"{path}.{kind}.variable", f"duplicate variable name '{variable}'")
        seen.add(variable)
    if mode == "agent-chat":
        agent = config.get("agent_mode") or {}
        if not isinstance(agent, dict) or not isinstance(agent.get("tools", []), list):
            raise DslError("model_config.agent_mode.tools", "must be a list")


def _mapping(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise DslError(path, "a mapping is required" if value is None else "must be a mapping")
    return value


def app_features(doc: dict[str, Any]) -> dict[str, Any]:
    mode = doc.get("app", {}).get("mode")
    if mode in GRAPH_MODES:
        features = doc.get("workflow", {}).get("features") or {}
    else:
        features = doc.get("model_config") or {}
    return features if isinstance(features, dict) else {}


def app_input_variables(doc: dict[str, Any]) -> list[dict[str, Any]]:
    mode = doc.get("app", {}).get("mode")
    if mode in GRAPH_MODES:
        for node in doc.get("workflow", {}).get("graph", {}).get("nodes", []):
            data = node.get("data") or {}
            if data.get("type") == "start":
                return list(data.get("variables") or [])
        return []
    return from_user_input_form((doc.get("model_config") or {}).get("user_input_form") or [])

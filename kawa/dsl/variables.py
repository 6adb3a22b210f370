"""Input form variables (Dify's VariableEntity) from a start node or a chat app's `user_input_form`."""

from __future__ import annotations

from typing import Any

INPUT_TYPES = frozenset(
    {
        "text-input",
        "paragraph",
        "select",
        "number",
        "file",
        "file-list",
        "checkbox",
        "json_object",
        "external_data_tool",
    }
)


def from_user_input_form(form: list[Any]) -> list[dict[str, Any]]:
    """Convert the legacy `[{"<type>": {...}}]` structure of chat apps into VariableEntity dicts."""
    entities: list[dict[str, Any]] = []
    for item in form:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((kind, body),) = item.items()
        if isinstance(body, dict):
            entities.append({**body, "type": body.get("type") or kind})
    return entities


def to_user_input_form(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `/parameters` shape: `[{"<type>": {variable, label, type, required, max_length, options, default, ...}}]`."""
    form: list[dict[str, Any]] = []
    for entity in entities:
        kind = entity.get("type", "text-input")
        body: dict[str, Any] = {
            "variable": entity.get("variable"),
            "label": entity.get("label", entity.get("variable")),
            "type": kind,
            "max_length": entity.get("max_length"),
            "required": bool(entity.get("required", False)),
            "hide": bool(entity.get("hide", False)),
            "options": list(entity.get("options") or []),
            "default": entity.get("default", ""),
        }
        if entity.get("description"):
            body["description"] = entity["description"]
        if kind in ("file", "file-list"):
            body["allowed_file_types"] = list(entity.get("allowed_file_types") or [])
            body["allowed_file_extensions"] = list(entity.get("allowed_file_extensions") or [])
            body["allowed_file_upload_methods"] = list(
                entity.get("allowed_file_upload_methods") or ["local_file", "remote_url"]
            )
        if kind == "json_object" and entity.get("json_schema") is not None:
            body["json_schema"] = entity["json_schema"]
        form.append({kind: body})
    return form

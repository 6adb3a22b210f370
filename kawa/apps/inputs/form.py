"""Validate a request's `inputs` against the app's input form, with Dify's messages (400 `invalid_param`)."""

from __future__ import annotations

import json
from typing import Any

from kawa.errors import InvalidParam

_TEXT_TYPES = ("text-input", "paragraph", "select")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def validate_inputs(variables: list[dict[str, Any]], inputs: dict[str, Any]) -> dict[str, Any]:
    """Checked and coerced inputs for every declared variable (absent ones take their default).

    File values are left as mappings; `kawa.apps.inputs.files` resolves them against storage afterwards.
    """
    if not isinstance(inputs, dict):
        raise InvalidParam("inputs must be a JSON object")
    result: dict[str, Any] = {}
    for variable in variables:
        name = str(variable.get("variable"))
        kind = variable.get("type", "text-input")
        value = inputs.get(name)
        if value is None or value == "":
            default = variable.get("default")
            if default is None or default == "":
                if variable.get("required"):
                    raise InvalidParam(f"{name} is required in input form")
                result[name] = [] if kind == "file-list" else ("" if value == "" and kind in _TEXT_TYPES else None)
                continue
            value = default
        result[name] = _check_value(variable, name, kind, value)
    return result


def _check_value(variable: dict[str, Any], name: str, kind: str, value: Any) -> Any:
    if kind in _TEXT_TYPES:
        return _text(variable, name, kind, value)
    if kind == "number":
        return _number(name, value)
    if kind == "checkbox":
        return _checkbox(name, value)
    if kind == "json_object":
        return _json_object(name, value)
    if kind == "file":
        if not isinstance(value, dict):
            raise InvalidParam(f"{name} in input form must be a file")
        return value
    if kind == "file-list":
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise InvalidParam(f"{name} in input form must be a list of files")
        _check_length(variable, name, len(value), "files")
        return value
    if isinstance(value, dict):
        raise InvalidParam(f"Invalid input type for [{name}]")
    return value


def _text(variable: dict[str, Any], name: str, kind: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidParam(f"(type '{kind}') {name} in input form must be a string")
    text = value.replace("\x00", "")
    if kind == "select":
        options = list(variable.get("options") or [])
        if text not in options:
            raise InvalidParam(f"{name} in input form must be one of the following: {options}")
    _check_length(variable, name, len(text), "characters")
    return text


def _json_object(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InvalidParam(f"{name} in input form must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidParam(f"{name} in input form must be a JSON object")
    return value


def _check_length(variable: dict[str, Any], name: str, length: int, unit: str) -> None:
    max_length = variable.get("max_length")
    if isinstance(max_length, int) and max_length > 0 and length > max_length:
        raise InvalidParam(f"{name} in input form must be less than {max_length} {unit}")


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidParam(f"{name} in input form must be a valid number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise InvalidParam(f"{name} in input form must be a valid number") from None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    raise InvalidParam(f"{name} in input form must be a valid number")


def _checkbox(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidParam(f"{name} in input form must be a boolean")

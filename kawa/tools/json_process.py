"""JSON tools (`langgenius/json_process`): select with JSONPath, replace (values, keys or substrings), insert and
delete, over JSON text. Paths are JSONPath as jsonpath-ng reads them (`$.items[0].name`, `$..price`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.jsonpath import DatumInContext, JSONPath
from jsonpath_ng.parser import parse

from kawa.tools.tool import BuiltinTool, ToolError, ToolOutput, flag_argument, object_schema, text_argument

PROVIDER = "json_process"


def _document(args: Mapping[str, Any]) -> Any:
    content = args.get("content")
    if isinstance(content, dict | list):  # a variable that already holds JSON
        return content
    try:
        return json.loads(text_argument(args, "content"))
    except json.JSONDecodeError as e:
        raise ToolError(f"Invalid parameter content: not JSON ({e})") from e


def _path(text: str) -> JSONPath:
    try:
        return parse(text)
    except (JsonPathLexerError, JsonPathParserError, Exception) as e:  # the parser raises plain Exception too
        raise ToolError(f"Invalid JSONPath {text!r}: {e}") from e


def _value(args: Mapping[str, Any], name: str) -> Any:
    value = args.get(name)
    if not flag_argument(args, "value_decode", False) or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise ToolError(f"Cannot decode {name} to a JSON value: {e}") from e


def _dump(data: Any, args: Mapping[str, Any]) -> ToolOutput:
    return ToolOutput(json.dumps(data, ensure_ascii=flag_argument(args, "ensure_ascii", True)))


def json_parse(args: Mapping[str, Any]) -> ToolOutput:
    data = _document(args)
    found = [match.value for match in _path(text_argument(args, "json_filter")).find(data)]
    if not found:
        return ToolOutput("")
    result = found[0] if len(found) == 1 else found
    if isinstance(result, dict | list):
        return _dump(result, args)
    return ToolOutput(str(result))


def json_replace(args: Mapping[str, Any]) -> ToolOutput:
    data = _document(args)
    matches = _path(text_argument(args, "query")).find(data)
    mode = text_argument(args, "replace_model", required=False) or "pattern"
    if mode == "key":
        new_key = text_argument(args, "replace_value")
        for match in matches:
            _rename_key(match, new_key)
        return _dump(data, args)
    if mode == "value":
        new_value = _value(args, "replace_value")
        for match in matches:
            data = match.full_path.update(data, new_value)
        return _dump(data, args)
    if mode != "pattern":
        raise ToolError("Invalid parameter replace_model: use pattern, key or value.")
    pattern = text_argument(args, "replace_pattern")
    replacement = text_argument(args, "replace_value", required=False)
    for match in matches:
        if isinstance(match.value, str):
            replaced: Any = match.value.replace(pattern, replacement)
            if flag_argument(args, "value_decode", False):
                try:
                    replaced = json.loads(replaced)
                except json.JSONDecodeError as e:
                    raise ToolError(f"Cannot decode the replaced value to JSON: {e}") from e
            data = match.full_path.update(data, replaced)
    return _dump(data, args)


def _rename_key(match: DatumInContext, new_key: str) -> None:
    parent = match.context.value if match.context is not None else None
    fields = getattr(match.path, "fields", ())
    if isinstance(parent, dict) and fields and fields[0] in parent:
        parent[new_key] = parent.pop(fields[0])


def json_insert(args: Mapping[str, Any]) -> ToolOutput:
    data = _document(args)
    query = text_argument(args, "query")
    new_value = _value(args, "new_value")
    index = args.get("index")
    matches = _path(query).find(data)
    if not matches:
        if not flag_argument(args, "create_path", False):
            raise ToolError(f"Nothing matches {query}; set create_path to create it.")
        return _dump(_path(query).update_or_create(data, new_value), args)
    for match in matches:
        target = match.value
        if isinstance(target, dict):
            if not isinstance(new_value, dict):
                raise ToolError("Cannot insert a non-object value into an object: set value_decode for JSON text.")
            target.update(new_value)
        elif isinstance(target, list):
            if index in (None, ""):
                target.append(new_value)
            else:
                try:
                    target.insert(int(index), new_value)
                except (TypeError, ValueError) as e:
                    raise ToolError(f"Invalid parameter index: {index!r}") from e
        else:
            data = match.full_path.update(data, new_value)
    return _dump(data, args)


def json_delete(args: Mapping[str, Any]) -> ToolOutput:
    data = _document(args)
    query = text_argument(args, "query")
    path = _path(query if query.startswith("$") else "$." + query.lstrip("."))
    # Deepest and last first, so earlier deletions do not shift the positions of later ones.
    for match in reversed(path.find(data)):
        parent = match.context.value if match.context is not None else None
        if isinstance(parent, dict):
            fields = getattr(match.path, "fields", ())
            for field in fields:
                parent.pop(field, None)
        elif isinstance(parent, list):
            position = getattr(match.path, "index", None)
            if isinstance(position, int) and 0 <= position < len(parent):
                del parent[position]
            elif match.value in parent:
                parent.remove(match.value)
    return _dump(data, args)


_S = {"type": "string"}
_B = {"type": "boolean"}


def _tool(name: str, label: str, run: Callable[[Mapping[str, Any]], ToolOutput], props: dict[str, Any]) -> BuiltinTool:
    required = [key for key in props if key in ("content", "query", "json_filter", "new_value", "replace_value")]
    return BuiltinTool(PROVIDER, name, label, f"{label} (JSONPath).", object_schema(props, required), run)


JSON_TOOLS = (
    _tool("parse", "JSON Parse", json_parse, {"content": _S, "json_filter": _S, "ensure_ascii": _B}),
    _tool(
        "json_replace",
        "JSON Replace",
        json_replace,
        {
            "content": _S,
            "query": _S,
            "replace_pattern": _S,
            "replace_value": _S,
            "replace_model": {"type": "string", "enum": ["pattern", "key", "value"]},
            "value_decode": _B,
            "ensure_ascii": _B,
        },
    ),
    _tool(
        "json_insert",
        "JSON Insert",
        json_insert,
        {
            "content": _S,
            "query": _S,
            "new_value": _S,
            "index": {"type": "number"},
            "create_path": {"type": "string", "enum": ["True", "False"]},
            "value_decode": _B,
            "ensure_ascii": _B,
        },
    ),
    _tool("json_delete", "JSON Delete", json_delete, {"content": _S, "query": _S, "ensure_ascii": _B}),
)

"""Runtime values and their renderings. Values are plain JSON-like Python objects; a file is a mapping shaped like
Dify's `File.to_dict` (`dify_model_identity: "__dify__file__"`, id, type, transfer_method, filename, extension,
mime_type, size, url, remote_url, related_id).

`to_text` is Dify's segment `.text` (templates, conditions); `to_markdown` is `.markdown` (answer/end streaming).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

FILE_IDENTITY: Final = "__dify__file__"

_FILE_KEYS: Final = {
    "name": "filename",
    "filename": "filename",
    "type": "type",
    "size": "size",
    "mime_type": "mime_type",
    "transfer_method": "transfer_method",
    "extension": "extension",
    "related_id": "related_id",
    "id": "id",
}


def is_file(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("dify_model_identity") == FILE_IDENTITY


def is_file_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(is_file(v) for v in value)


def file_attribute(file: Mapping[str, Any], key: str) -> Any:
    if key == "url":
        return file.get("url") or file.get("remote_url")
    mapped = _FILE_KEYS.get(key)
    if mapped is not None:
        return file.get(mapped)
    return file.get(key)


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if is_file(value):
        return ""
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        if not value or is_file_list(value):
            return ""
        if all(isinstance(v, str) for v in value):
            return json.dumps(value, ensure_ascii=False)
        return str(value)
    return str(value)


def file_markdown(file: Mapping[str, Any]) -> str:
    name = file.get("filename") or ""
    url = file_attribute(file, "url") or ""
    if file.get("type") == "image":
        return f"![{name}]({url})"
    return f"[{name}]({url})"


def to_markdown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if is_file(value):
        return file_markdown(value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, indent=2)
    if isinstance(value, list):
        if is_file_list(value):
            return "\n".join(file_markdown(f) for f in value)
        return "\n".join(f"- {item}" for item in value)
    return str(value)

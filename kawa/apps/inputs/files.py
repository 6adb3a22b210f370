"""Resolve Dify file mappings (`{type, transfer_method, upload_file_id | url}`) into file values for the run.

A `local_file` must be an upload of the same end user of the same app; a `remote_url` must be http(s). The
resulting value has the shape of Dify's `File.to_dict()`, so templates and nodes see what they see in Dify.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from kawa.dsl.document import app_features, app_input_variables
from kawa.errors import InvalidParam
from kawa.files.signing import sign_file_url
from kawa.files.types import file_kind, guess_mime
from kawa.settings import Settings
from kawa.store.files import UploadFileStore

TRANSFER_METHODS = ("local_file", "remote_url")


@dataclass(frozen=True)
class FileScope:
    app_id: str
    end_user_id: str
    base_url: str
    signing_key: bytes


async def resolve_file(
    mapping: Any,
    scope: FileScope,
    files: UploadFileStore,
    *,
    allowed: dict[str, Any] | None = None,
    label: str = "files",
) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise InvalidParam(f"{label} must be file objects")
    method = mapping.get("transfer_method")
    if method not in TRANSFER_METHODS:
        raise InvalidParam(f"{label}: transfer_method must be one of {list(TRANSFER_METHODS)}")
    allowed_methods = (allowed or {}).get("allowed_file_upload_methods") or []
    if allowed_methods and method not in allowed_methods:
        raise InvalidParam(f"{label}: transfer method {method} is not allowed here")
    if method == "local_file":
        value = await _local_file(mapping, scope, files, label)
    else:
        value = _remote_file(mapping, label)
    _check_type(value, mapping, allowed, label)
    return value


async def _local_file(mapping: dict[str, Any], scope: FileScope, files: UploadFileStore, label: str) -> dict[str, Any]:
    file_id = mapping.get("upload_file_id") or mapping.get("related_id")
    try:
        uuid.UUID(str(file_id))
    except ValueError:
        raise InvalidParam("Invalid upload file id format") from None
    record = await files.get(str(file_id), app_id=scope.app_id)
    if record is None or record.end_user_id != scope.end_user_id:
        raise InvalidParam(f"{label}: upload file {file_id} not found")
    return {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "tenant_id": scope.app_id,
        "type": mapping.get("type") or file_kind(record.extension) or "custom",
        "transfer_method": "local_file",
        "remote_url": None,
        "related_id": record.id,
        "filename": record.name,
        "extension": "." + record.extension,
        "mime_type": record.mime_type,
        "size": record.size,
        "url": sign_file_url(scope.base_url, record.id, scope.signing_key),
    }


def _remote_file(mapping: dict[str, Any], label: str) -> dict[str, Any]:
    url = mapping.get("url") or mapping.get("remote_url")
    parsed = urlparse(str(url or ""))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidParam(f"{label}: url must be an http(s) URL")
    name = PurePosixPath(parsed.path).name or parsed.netloc
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    return {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "tenant_id": None,
        "type": mapping.get("type") or file_kind(extension) or "custom",
        "transfer_method": "remote_url",
        "remote_url": url,
        "related_id": None,
        "filename": name,
        "extension": "." + extension if extension else "",
        "mime_type": guess_mime(name, None),
        "size": -1,
        "url": url,
    }


def _check_type(value: dict[str, Any], mapping: dict[str, Any], allowed: dict[str, Any] | None, label: str) -> None:
    if not allowed:
        return
    types = allowed.get("allowed_file_types") or []
    if not types:
        return
    kind = value["type"]
    if kind in types:
        return
    extensions = [e.lower().lstrip(".") for e in allowed.get("allowed_file_extensions") or []]
    if "custom" in types and value["extension"].lstrip(".").lower() in extensions:
        return
    raise InvalidParam(f"{label}: file type {kind} is not allowed (allowed: {types})")


async def resolve_inputs_files(
    variables: list[dict[str, Any]], inputs: dict[str, Any], scope: FileScope, files: UploadFileStore
) -> dict[str, Any]:
    """Replace file / file-list input mappings by resolved file values."""
    resolved = dict(inputs)
    for variable in variables:
        name = str(variable.get("variable"))
        kind = variable.get("type")
        value = inputs.get(name)
        if kind == "file" and isinstance(value, dict):
            resolved[name] = await resolve_file(value, scope, files, allowed=variable, label=name)
        elif kind == "file-list" and isinstance(value, list):
            resolved[name] = [await resolve_file(v, scope, files, allowed=variable, label=name) for v in value]
    return resolved


async def resolve_request_files(
    settings: Settings,
    store: UploadFileStore,
    *,
    app_id: str,
    end_user_id: str,
    document: dict[str, Any],
    inputs: dict[str, Any],
    request_files: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run or message's files: file inputs of the app's form, then `files` as `sys.files`."""
    scope = FileScope(
        app_id=app_id, end_user_id=end_user_id, base_url=settings.base_url, signing_key=settings.signing_key()
    )
    resolved = await resolve_inputs_files(app_input_variables(document), inputs, scope, store)
    file_upload = app_features(document).get("file_upload") or {}
    return resolved, await resolve_system_files(request_files, scope, store, file_upload)


async def resolve_system_files(
    mappings: Any, scope: FileScope, files: UploadFileStore, file_upload: dict[str, Any]
) -> list[dict[str, Any]]:
    """`files` of a request → `sys.files`, within the app's `file_upload` number limit."""
    if mappings in (None, ""):
        return []
    if not isinstance(mappings, list):
        raise InvalidParam("files must be a list")
    limit = file_upload.get("number_limits") or (file_upload.get("image") or {}).get("number_limits") or 3
    if len(mappings) > int(limit):
        raise InvalidParam(f"files: at most {limit} files may be sent")
    return [await resolve_file(m, scope, files, allowed=file_upload, label="files") for m in mappings]

"""Run a workflow DSL file in this process, without a server or database (`kawa run`)."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from kawa.apps.inputs.form import validate_inputs
from kawa.apps.runners.published_workflow import environment_of
from kawa.dsl import AppDocument
from kawa.errors import InvalidParam
from kawa.files.types import file_kind
from kawa.workflow import events as ev
from kawa.workflow.engine import WorkflowEngine
from kawa.workflow.graph import compile_graph
from kawa.workflow.runtime import EngineLimits, NodeServices
from kawa.workflow.system_variables import SystemVariables


def parse_cli_inputs(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs; a value that parses as JSON is taken as JSON, `@path` is a local file."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidParam(f"-i takes name=value, not {pair!r}")
        if raw.startswith("@"):
            value: Any = local_file_value(Path(raw[1:]))
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = raw  # keep the text: the input form decides whether it is a number
        if name in inputs:
            existing = inputs[name]
            inputs[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            inputs[name] = value
    return inputs


def local_file_value(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidParam(f"no such file: {path}")
    extension = path.suffix.lower()
    return {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "tenant_id": None,
        "type": file_kind(extension.lstrip(".")) or "custom",
        "transfer_method": "local_file",
        "remote_url": None,
        "related_id": str(path.resolve()),
        "filename": path.name,
        "extension": extension,
        "mime_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        "size": path.stat().st_size,
        "url": path.resolve().as_uri(),
    }


async def _read_local(path: str) -> bytes:
    return await asyncio.to_thread(Path(path).read_bytes)


async def run_document(
    doc: AppDocument,
    inputs: dict[str, Any],
    services: NodeServices,
    limits: EngineLimits,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[ev.EngineEvent]:
    if doc.mode != "workflow":
        raise InvalidParam(f"kawa run runs workflow apps; this is a {doc.mode} app")
    graph = compile_graph(doc.document["workflow"]["graph"])
    checked = validate_inputs(doc.input_variables, inputs)
    environment, secrets = environment_of(doc.document)
    engine = WorkflowEngine(graph, services=replace(services, file_reader=_read_local), limits=limits)
    system = SystemVariables(user_id="cli", app_id="local", workflow_id="local", workflow_run_id=str(uuid.uuid4()))
    async for event in engine.run(
        inputs=checked,
        system=system.pool_values(),
        environment=environment,
        secret_env_names=secrets,
        conversation={},
        stop=stop or asyncio.Event(),
    ):
        yield event

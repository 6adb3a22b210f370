"""Importing a Dify export as an app: parse and check the DSL, collect what kawa warns about, store it.

One place for what `kawa app import` and the console's import both do: a new app with a first API key, or a new
published version of an existing app, with the warnings (DSL notes, missing datasets, unrunnable tools and models).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kawa.apps.import_check import unrunnable_warnings
from kawa.dsl import load_dsl
from kawa.knowledge.references import dataset_references, missing_dataset_warnings
from kawa.models.registry import ModelRuntime
from kawa.store.apps import AppStore
from kawa.store.database import Database
from kawa.store.datasets import DatasetStore
from kawa.store.keys import KeyStore
from kawa.workflow.graph import compile_graph


@dataclass(frozen=True)
class ImportedApp:
    app_id: str
    name: str
    mode: str
    workflow_id: str
    version: int
    api_key: str | None = None  # a new app's first key, shown once
    warnings: list[str] = field(default_factory=list)


async def import_app(
    source: str | bytes,
    *,
    db: Database,
    apps: AppStore,
    keys: KeyStore,
    models: ModelRuntime,
    app_id: str | None = None,
    allow_newer: bool = False,
) -> ImportedApp:
    """Import `source` (DSL YAML) as a new app, or as the next version of `app_id`. Raises `DslError` on bad DSL."""
    doc = load_dsl(source, check_graph=compile_graph, allow_newer=allow_newer)
    wanted = dataset_references(doc.document)
    found = await DatasetStore(db).find(wanted)
    missing = [d for d in wanted if d not in found]
    warnings = [*doc.warnings, *missing_dataset_warnings(doc.document, missing), *unrunnable_warnings(doc, models)]
    if app_id is None:
        record, version = await apps.create(doc)
        _, token = await keys.create(record.id)
        return ImportedApp(record.id, record.name, record.mode, version.id, version.number, token, warnings)
    record, version = await apps.publish(app_id, doc)
    return ImportedApp(record.id, record.name, record.mode, version.id, version.number, None, warnings)

"""Create apps and keys in a test database the way the CLI does (through kawa's own stores)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from kawa.dsl import load_dsl
from kawa.services import open_services
from kawa.settings import Settings
from kawa.workflow.graph import compile_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class ImportedApp:
    app_id: str
    api_key: str
    workflow_id: str


def import_app(settings: Settings, source: str | Path) -> ImportedApp:
    """Import a DSL (YAML text, or a path / fixture name under tests/fixtures/dsl) and create a key."""
    if isinstance(source, Path):
        text = source.read_text()
    elif source.endswith((".yml", ".yaml")) and "\n" not in source:
        text = (FIXTURES / "dsl" / source).read_text()
    else:
        text = source

    async def work() -> ImportedApp:
        async with open_services(settings) as services:
            app, version = await services.apps.create(load_dsl(text, check_graph=compile_graph))
            _, token = await services.keys.create(app.id)
            return ImportedApp(app.id, token, version.id)

    return asyncio.run(work())


def revoke_all_keys(settings: Settings, app_id: str) -> None:
    async def work() -> None:
        async with open_services(settings) as services:
            for key in await services.keys.list(app_id):
                await services.keys.revoke(key.id)

    asyncio.run(work())


def disable_api(settings: Settings, app_id: str) -> None:
    """Turn the app's Service API off (Dify's "API access" switch; kawa has no command for it yet)."""

    async def work() -> None:
        async with open_services(settings) as services, services.db.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE apps SET enable_api = :off WHERE id = :id"), {"off": False, "id": app_id}
            )

    asyncio.run(work())


def publish_version(settings: Settings, app_id: str, text: str) -> str:
    async def work() -> str:
        async with open_services(settings) as services:
            _, version = await services.apps.publish(app_id, load_dsl(text, check_graph=compile_graph))
            return version.id

    return asyncio.run(work())


def run_record(settings: Settings, run_id: str):  # type: ignore[no-untyped-def]
    from kawa.store.tables import WorkflowRun

    async def work() -> WorkflowRun | None:
        async with open_services(settings) as services, services.db.session() as session:
            return await session.get(WorkflowRun, run_id)

    return asyncio.run(work())

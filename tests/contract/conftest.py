"""A real `kawa serve` process on loopback (SQLite, one worker) with a workflow app, a chatflow app and a
knowledge key, for the contract tests that read its OpenAPI document and fuzz it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from support.apps import import_app
from support.server import free_port

from kawa.services import open_services
from kawa.settings import Settings

KAWA = [sys.executable, "-m", "kawa.cli"]


@dataclass(frozen=True)
class ServedKawa:
    base_url: str
    keys: dict[str, str]  # "workflow", "chatflow", "dataset" -> bearer token


def _make_keys(settings: Settings) -> dict[str, str]:
    """Import the apps and create the keys in the server's database before it starts, as the CLI would."""
    keys = {
        "workflow": import_app(settings, "workflow-hello.yml").api_key,
        "chatflow": import_app(settings, "chatflow-support.yml").api_key,
    }

    async def dataset_key() -> str:
        async with open_services(settings) as services:
            _, token = await services.keys.create(None, type="dataset")
            return token

    keys["dataset"] = asyncio.run(dataset_key())
    return keys


@pytest.fixture(scope="session")
def served_kawa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedKawa]:
    home = tmp_path_factory.mktemp("contract-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    database_url = f"sqlite+aiosqlite:///{(home / 'kawa.db').resolve()}"
    env.update(
        KAWA_HOME=str(home),
        KAWA_DATABASE_URL=database_url,
        KAWA_MODELS__EMBEDDED__CHAT="false",
        KAWA_LOG_LEVEL="warning",
    )
    keys = _make_keys(Settings(home=home, database_url=database_url))
    port = free_port()
    process = subprocess.Popen(
        [*KAWA, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150  # start-up imports every package: slow on a loaded machine
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "kawa serve exited"
            assert time.monotonic() < deadline, "kawa serve did not come up"
            time.sleep(0.05)
        yield ServedKawa(base_url=base_url, keys=keys)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

"""Settings and HTTP clients for tests that start their own servers or talk to the shared one."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from kawa.settings import Settings
from support.server import RunningServer, free_port


def make_settings(home: Path, database_url: str, **overrides: object) -> Settings:
    os.environ.pop("KAWA_DATABASE_URL", None)
    return Settings(home=home, database_url=database_url, port=free_port(), **overrides)  # type: ignore[arg-type]


def client_for(server: RunningServer, api_key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=server.api_url, headers=headers, timeout=30)

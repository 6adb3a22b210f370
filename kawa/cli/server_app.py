"""The ASGI app `kawa serve` runs: the Service API (kawa.api) with the web console and WebApp (kawa.web) added."""

from __future__ import annotations

from fastapi import FastAPI

from kawa.api.app import create_app
from kawa.services import WorkerRole
from kawa.settings import Settings
from kawa.web import mount_web


def create_server_app(settings: Settings | None = None, *, worker: WorkerRole | None = None) -> FastAPI:
    app = create_app(settings, worker=worker)
    mount_web(app)
    return app

"""The web UI, a transport beside kawa.api: the console (apps, keys, run traces, knowledge) behind a login, and the
public WebApp of each app (chat, completion, workflow). Pages are small vanilla JS/CSS shipped in the package;
Markdown and code highlighting are rendered on the server (markdown-it-py, Pygments), so pages need no network."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kawa.web import console_api, console_pages, knowledge_api, webapp_api, webapp_forms, webapp_pages

STATIC_DIR = Path(__file__).parent / "static"


def mount_web(app: FastAPI) -> None:
    """Add the console and the WebApp to the server's app (the same process and services as the Service API)."""
    for router in (
        console_pages.router,
        console_api.router,
        knowledge_api.router,
        webapp_pages.router,
        webapp_api.router,
        webapp_forms.router,
    ):
        app.include_router(router, include_in_schema=False)
    app.mount("/static/kawa", StaticFiles(directory=STATIC_DIR), name="kawa-static")


__all__ = ["mount_web"]

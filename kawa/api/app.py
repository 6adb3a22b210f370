"""The ASGI application: the Service API under `/v1`, `/healthz` and `/readyz`, signed file URLs, one error shape
everywhere."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kawa import __version__
from kawa.api import health
from kawa.api.body_limit import RequestSizeLimit
from kawa.api.errors import install_error_handlers
from kawa.api.metrics_route import router as metrics_router
from kawa.api.no_content import NoContentJsonType
from kawa.api.openapi_doc import service_openapi
from kawa.api.routes import (
    app_annotations,
    app_info,
    audio,
    chat,
    conversations,
    end_users,
    files,
    human_input,
    knowledge,
    mcp_server,
    service_root,
    workflows,
    workspace_models,
)
from kawa.api.telemetry_middleware import TelemetryMiddleware
from kawa.errors import REQUEST_ID
from kawa.services import Services, WorkerRole, open_services
from kawa.settings import Settings


class RequestIdMiddleware:
    """Gives every request an id (`X-Request-Id`, taken from the client when it sends one) for logs and 500s."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        REQUEST_ID.set(request_id)  # run and message tasks spawned by this request log failures under it

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(
    settings: Settings | None = None, services: Services | None = None, *, worker: WorkerRole | None = None
) -> FastAPI:
    """Build the app. With `services` given (tests, embedding), the caller owns their lifetime. A `worker` of
    `kawa serve --workers N` does not migrate (its parent did) and shares tasks with its siblings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        opening = open_services(settings or Settings(), recover_runs=True, migrate=worker is None, worker=worker)
        async with opening as opened:
            app.state.services = opened
            yield

    app = FastAPI(
        title="kawa Service API",
        version=__version__,
        description="The Dify Service API, served by kawa.",
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    configured = settings or (services.settings if services is not None else Settings())
    app.add_middleware(NoContentJsonType)
    app.add_middleware(RequestSizeLimit, max_bytes=configured.max_request_bytes)
    app.add_middleware(TelemetryMiddleware)  # inside the request id: its span and log lines carry the id
    app.add_middleware(RequestIdMiddleware)
    app.openapi = service_openapi(app)  # type: ignore[method-assign]  # FastAPI's documented customisation
    for router in (
        app_info.router,
        files.router,
        workflows.router,
        human_input.router,
        chat.router,
        conversations.router,
        audio.router,
        knowledge.router,
        app_annotations.router,
        end_users.router,
        workspace_models.router,
        service_root.router,
    ):
        app.include_router(router, prefix="/v1")
    app.include_router(files.public_router)
    app.include_router(knowledge.public_router)
    app.include_router(health.router)
    app.include_router(metrics_router)
    mcp_server.mount(app)
    return app

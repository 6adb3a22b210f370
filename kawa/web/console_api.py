"""The console's JSON API (`/console/api`): log in and out, apps (import, export, delete, WebApp on/off), API keys,
run logs and run traces. Every route but login needs a console session; writes need its CSRF token."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from kawa.apps.app_import import import_app
from kawa.dsl import export_dsl
from kawa.errors import InvalidParam, NotFound, Unauthorized
from kawa.services import Services
from kawa.store.accounts import SESSION_TTL_S
from kawa.store.message_logs import MessageLog
from kawa.store.web_sites import WebSiteStore
from kawa.web.run_trace import graph_view, node_trace
from kawa.web.security import (
    CONSOLE_COOKIE,
    ConsoleUserDep,
    ServicesDep,
    accounts_of,
    check_origin,
    set_cookie,
)

router = APIRouter(prefix="/console/api")
WEBAPP_PATH = {"workflow": "workflow", "completion": "completion"}  # other modes chat


class LoginBody(BaseModel):
    email: str
    password: str


@router.post("/login")
async def log_in(body: LoginBody, request: Request, services: ServicesDep) -> Response:
    check_origin(request)
    token = await accounts_of(services).log_in(body.email, body.password)
    if token is None:
        raise Unauthorized("Wrong email or password.")
    response = JSONResponse({"result": "success"})
    set_cookie(response, request, CONSOLE_COOKIE, token, max_age=SESSION_TTL_S, strict=True)
    return response


@router.post("/logout")
async def log_out(request: Request, services: ServicesDep, _user: ConsoleUserDep) -> Response:
    await accounts_of(services).log_out(request.cookies.get(CONSOLE_COOKIE, ""))
    response = JSONResponse({"result": "success"})
    response.delete_cookie(CONSOLE_COOKIE, path="/")
    return response


def webapp_url(mode: str, code: str) -> str:
    return f"/{WEBAPP_PATH.get(mode, 'chat')}/{code}"


async def _app_or_404(services: Services, app_id: str) -> Any:
    app = await services.apps.get(app_id)
    if app is None:
        raise NotFound("App not found.", code="app_not_found")
    return app


@router.get("/apps")
async def list_apps(services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    sites = WebSiteStore(services.db)
    rows = []
    for app in await services.apps.list():
        site = await sites.of_app(app.id)
        rows.append(
            {
                "id": app.id,
                "name": app.name,
                "mode": app.mode,
                "description": app.description,
                "icon": app.icon,
                "icon_background": app.icon_background,
                "webapp_url": webapp_url(app.mode, site.code),
                "webapp_enabled": site.enabled,
                "updated_at": app.updated_at,
            }
        )
    return {"data": rows}


@router.post("/apps/import")
async def import_dsl(request: Request, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    """A DSL file (multipart field `file`) as a new app, or as a new version of form field `app_id`."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidParam("choose a DSL file (.yml) to import")
    source = await upload.read()
    app_id = form.get("app_id")
    imported = await import_app(
        source,
        db=services.db,
        apps=services.apps,
        keys=services.keys,
        models=services.models,
        app_id=app_id if isinstance(app_id, str) and app_id else None,
        allow_newer=form.get("force") == "true",
    )
    return {
        "app_id": imported.app_id,
        "name": imported.name,
        "mode": imported.mode,
        "version": imported.version,
        "api_key": imported.api_key,
        "warnings": imported.warnings,
    }


@router.get("/apps/{app_id}")
async def app_detail(app_id: str, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    app = await _app_or_404(services, app_id)
    version = await services.apps.current_version(app)
    site = await WebSiteStore(services.db).of_app(app.id)
    keys = [
        {"id": k.id, "hint": k.hint, "created_at": k.created_at, "last_used_at": k.last_used_at}
        for k in await services.keys.list(app.id)
        if k.revoked_at is None
    ]
    versions = [
        {"id": v.id, "number": v.number, "created_at": v.created_at} for v in await services.apps.versions(app.id)
    ]
    return {
        "id": app.id,
        "name": app.name,
        "mode": app.mode,
        "description": app.description,
        "icon": app.icon,
        "webapp_url": webapp_url(app.mode, site.code),
        "webapp_enabled": site.enabled,
        "keys": keys,
        "versions": versions,
        "current_version": version.number,
        "graph": graph_view(version.document),
    }


@router.get("/apps/{app_id}/export")
async def export_app(app_id: str, services: ServicesDep, _user: ConsoleUserDep) -> Response:
    app = await _app_or_404(services, app_id)
    version = await services.apps.current_version(app)
    filename = "".join(c if c.isalnum() or c in "-_" else "-" for c in app.name) or "app"
    return Response(
        export_dsl(version.document, include_secret=False),
        media_type="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}.yml"'},
    )


@router.delete("/apps/{app_id}")
async def delete_app(app_id: str, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, str]:
    if not await services.apps.delete(app_id):
        raise NotFound("App not found.", code="app_not_found")
    return {"result": "success"}


@router.post("/apps/{app_id}/keys")
async def create_key(app_id: str, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    await _app_or_404(services, app_id)
    key, token = await services.keys.create(app_id)
    return {"id": key.id, "api_key": token, "hint": key.hint, "created_at": key.created_at}


@router.delete("/apps/{app_id}/keys/{key_id}")
async def revoke_key(app_id: str, key_id: str, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, str]:
    if not any(k.id == key_id for k in await services.keys.list(app_id)) or not await services.keys.revoke(key_id):
        raise NotFound("Key not found.", code="not_found")
    return {"result": "success"}


class SiteBody(BaseModel):
    enabled: bool


@router.post("/apps/{app_id}/site")
async def set_site(app_id: str, body: SiteBody, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    await _app_or_404(services, app_id)
    site = await WebSiteStore(services.db).set_enabled(app_id, body.enabled)
    return {"enabled": site.enabled}


@router.get("/apps/{app_id}/runs")
async def list_runs(
    app_id: str, services: ServicesDep, _user: ConsoleUserDep, page: int = 1, status: str | None = None
) -> dict[str, Any]:
    await _app_or_404(services, app_id)
    logs = await services.runs.logs(
        app_id,
        keyword=None,
        status=status or None,
        after=None,
        before=None,
        session_id=None,
        page=max(page, 1),
        limit=50,
    )
    rows = [
        {
            "id": r.id,
            "status": r.status,
            "version": r.version,
            "error": r.error,
            "elapsed_time": r.elapsed_time,
            "total_tokens": r.total_tokens,
            "total_steps": r.total_steps,
            "created_at": r.created_at,
            "user": r.end_user.session_id if r.end_user else None,
        }
        for r in logs.rows
    ]
    return {"total": logs.total, "page": page, "data": rows}


@router.get("/apps/{app_id}/runs/{run_id}")
async def run_trace(app_id: str, run_id: str, services: ServicesDep, _user: ConsoleUserDep) -> dict[str, Any]:
    run = await services.runs.get(run_id, app_id=app_id)
    if run is None:
        raise NotFound("Workflow run not found.", code="not_found")
    version = await services.apps.version(run.workflow_id)
    return {
        "run": {
            "id": run.id,
            "status": run.status,
            "inputs": run.inputs,
            "outputs": run.outputs,
            "error": run.error,
            "elapsed_time": run.elapsed_time,
            "total_tokens": run.total_tokens,
            "total_steps": run.total_steps,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
        },
        "graph": graph_view(version.document) if version is not None else {"nodes": [], "edges": []},
        "nodes": node_trace(await services.runs.node_executions(run.id)),
    }


@router.get("/apps/{app_id}/messages")
async def list_messages(
    app_id: str,
    services: ServicesDep,
    _user: ConsoleUserDep,
    page: int = 1,
    rating: Literal["like", "dislike"] | None = None,
    keyword: str | None = None,
) -> dict[str, Any]:
    """Chat apps' log: messages newest first with the feedback they got (filters: rating, keyword)."""
    await _app_or_404(services, app_id)
    rows, total = await MessageLog(services.db).page(
        app_id, page=max(page, 1), limit=50, rating=rating, keyword=keyword or None
    )
    return {"total": total, "page": page, "data": [asdict(r) for r in rows]}

"""WebApp pages: `/chat/{code}`, `/completion/{code}`, `/workflow/{code}` with the app's site settings and input
form; the browser's identity cookie is set here on first visit. Also the highlighting CSS the answers use."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kawa.apps.inputs.parameters import app_parameters, app_site
from kawa.services import Services
from kawa.store.web_sites import WebSiteStore
from kawa.web.markdown import highlight_css
from kawa.web.page_shell import page
from kawa.web.security import WEB_COOKIE, ServicesDep, browser_of, set_cookie

router = APIRouter()
PATH_OF_MODE = {"workflow": "workflow", "completion": "completion"}
LANGUAGES = {"en": "en", "ja": "ja", "zh": "zh"}
ONE_YEAR_S = 365 * 24 * 3600


def _not_found() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Not found</title><p>This WebApp does not exist or is turned off.</p>", status_code=404
    )


async def _webapp(kind: str, code: str, request: Request, services: Services) -> Response:
    site = await WebSiteStore(services.db).by_code(code)
    app = await services.apps.get(site.app_id) if site is not None and site.enabled else None
    if app is None:
        return _not_found()
    if PATH_OF_MODE.get(app.mode, "chat") != kind:
        return RedirectResponse(f"/{PATH_OF_MODE.get(app.mode, 'chat')}/{code}", status_code=307)
    version = await services.apps.current_version(app)
    settings = app_site(app, version.document)
    lang = LANGUAGES.get(str(settings.get("default_language") or "en").split("-")[0].lower(), "en")
    boot = {
        "code": code,
        "mode": app.mode,
        "lang": lang,
        "site": settings,
        "parameters": app_parameters(version.document, services.settings.upload),
    }
    response = page(
        title=str(settings.get("title") or app.name),
        script="webapp.js",
        boot=boot,
        lang=lang,
        icon=settings.get("icon") if settings.get("icon_type") in (None, "emoji") else None,
        body_class=f"webapp mode-{kind}",
    )
    browser = browser_of(request)
    if browser.new_token is not None:
        set_cookie(response, request, WEB_COOKIE, browser.new_token, max_age=ONE_YEAR_S, strict=False)
    return response


@router.get("/chat/{code}")
async def chat_page(code: str, request: Request, services: ServicesDep) -> Response:
    return await _webapp("chat", code, request, services)


@router.get("/completion/{code}")
async def completion_page(code: str, request: Request, services: ServicesDep) -> Response:
    return await _webapp("completion", code, request, services)


@router.get("/workflow/{code}")
async def workflow_page(code: str, request: Request, services: ServicesDep) -> Response:
    return await _webapp("workflow", code, request, services)


@router.get("/static/kawa/highlight.css")
async def highlight_stylesheet() -> Response:
    return Response(highlight_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})

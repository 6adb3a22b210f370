"""Console pages: each is the page shell with its name and ids; console.js draws it from the console API.
Without a session every page but the login page redirects to it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from kawa.store.accounts import ConsoleUser
from kawa.web.page_shell import page
from kawa.web.security import optional_console_user

router = APIRouter()
MaybeUser = Annotated[ConsoleUser | None, Depends(optional_console_user)]


def _console_page(request: Request, user: ConsoleUser | None, name: str, **ids: str) -> Response:
    if user is None:
        return RedirectResponse(f"/console/login?next={quote(request.url.path)}", status_code=303)
    boot = {"page": name, "csrf": user.csrf_token, "email": user.email, **ids}
    return page(title=f"kawa console · {name}", script="console.js", boot=boot, icon="🌊")


@router.get("/console/login")
async def login_page(user: MaybeUser, next: str = "/console") -> Response:
    if user is not None:
        return RedirectResponse("/console", status_code=303)
    target = next if next.startswith("/console") else "/console"
    return page(title="kawa console · log in", script="console.js", boot={"page": "login", "next": target}, icon="🌊")


@router.get("/console")
async def apps_page(request: Request, user: MaybeUser) -> Response:
    return _console_page(request, user, "apps")


@router.get("/console/apps/{app_id}")
async def app_page(request: Request, user: MaybeUser, app_id: str) -> Response:
    return _console_page(request, user, "app", app_id=app_id)


@router.get("/console/apps/{app_id}/runs/{run_id}")
async def run_page(request: Request, user: MaybeUser, app_id: str, run_id: str) -> Response:
    return _console_page(request, user, "run", app_id=app_id, run_id=run_id)


@router.get("/console/datasets")
async def datasets_page(request: Request, user: MaybeUser) -> Response:
    return _console_page(request, user, "datasets")


@router.get("/console/datasets/{dataset_id}")
async def dataset_page(request: Request, user: MaybeUser, dataset_id: str) -> Response:
    return _console_page(request, user, "dataset", dataset_id=dataset_id)

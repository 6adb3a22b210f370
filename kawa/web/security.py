"""Who is asking: the console user of a session cookie, the WebApp's browser identity, and the CSRF checks.

Console: an HttpOnly, SameSite=Strict session cookie (Secure when the request came over https) and, on every
state-changing request, an `X-CSRF-Token` header equal to the token bound to the session. WebApp: a per-browser
HttpOnly, SameSite=Lax cookie naming an end user of the app (`web-` + a hash of it, never a Service API user), and
on writes the custom `X-Kawa-Web` header, which a cross-site form cannot send and a cross-site fetch cannot send
without a CORS preflight kawa never grants. Writes with an `Origin` of another host are refused in both.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from kawa.errors import Forbidden, KawaError, Unauthorized
from kawa.services import Services
from kawa.store.accounts import AccountStore, ConsoleUser

CONSOLE_COOKIE = "kawa_console"
WEB_COOKIE = "kawa_web"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def accounts_of(services: Services) -> AccountStore:
    return AccountStore(services.db)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def check_origin(request: Request) -> None:
    """Refuse a write whose `Origin` names another host (browsers send it on every cross-site POST)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("Cross-site request refused.")
    if origin == "null":
        raise Forbidden("Cross-site request refused.")


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int, strict: bool) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=is_https(request),
        samesite="strict" if strict else "lax",
        path="/",
    )


async def optional_console_user(request: Request, services: ServicesDep) -> ConsoleUser | None:
    token = request.cookies.get(CONSOLE_COOKIE)
    return await accounts_of(services).session_user(token) if token else None


async def console_user(request: Request, services: ServicesDep) -> ConsoleUser:
    """The logged-in console user; 401 without a live session, 403 on a write without the session's CSRF token."""
    user = await optional_console_user(request, services)
    if user is None:
        raise Unauthorized("Log in to the console first.")
    if request.method not in SAFE_METHODS:
        check_origin(request)
        sent = request.headers.get("x-csrf-token", "")
        if not secrets.compare_digest(sent.encode(), user.csrf_token.encode()):
            raise KawaError("CSRF token missing or wrong.", code="csrf_token_invalid", status=403)
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]


@dataclass(frozen=True, slots=True)
class Browser:
    """A WebApp visitor: `user` is the end-user string the runners see; `new_token` is set when the cookie is new."""

    user: str
    new_token: str | None


def browser_of(request: Request) -> Browser:
    token = request.cookies.get(WEB_COOKIE) or ""
    new_token = None
    if len(token) < 32:
        token = new_token = secrets.token_urlsafe(32)
    return Browser(user="web-" + hashlib.sha256(token.encode()).hexdigest()[:40], new_token=new_token)


def browser_write(request: Request) -> Browser:
    """The visitor of a state-changing WebApp request (custom header and same-origin required)."""
    check_origin(request)
    if request.headers.get("x-kawa-web") != "1":
        raise Forbidden("Missing the X-Kawa-Web header.")
    browser = browser_of(request)
    if browser.new_token is not None:
        raise Unauthorized("Open the WebApp page first.")
    return browser


BrowserDep = Annotated[Browser, Depends(browser_of)]
BrowserWriteDep = Annotated[Browser, Depends(browser_write)]

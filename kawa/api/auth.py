"""API key authentication: `Bearer app-...` resolves to the app it belongs to; `Bearer dataset-...` (Knowledge API)
to a dataset key, which sees every dataset (kawa has no tenants). Also the typed `Services` dependency."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from fastapi import Depends, Request

from kawa.errors import Forbidden, Unauthorized
from kawa.services import Services
from kawa.store.keys import AppKey, OrphanAppKey

AppAuth: TypeAlias = AppKey


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization")
    if header is None or " " not in header.strip():
        raise Unauthorized("Authorization header must be provided and start with 'Bearer'")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("Authorization scheme must be 'Bearer'")
    return token.strip()


async def app_auth(request: Request, services: ServicesDep) -> AppAuth:
    token = bearer_token(request)
    found = await services.keys.resolve_app_key(token) if token.startswith("app-") else None
    if found is None:
        raise Unauthorized("Access token is invalid")
    if isinstance(found, OrphanAppKey):
        raise Forbidden("The app no longer exists.")
    if not found.app.enable_api:
        raise Forbidden("The app's API service has been disabled.")
    return found


AppAuthDep = Annotated[AppAuth, Depends(app_auth)]


async def dataset_auth(request: Request, services: ServicesDep) -> None:
    """The Knowledge API's key check: only `dataset-` keys; an app key here is "invalid", as in Dify."""
    token = bearer_token(request)
    key = await services.keys.resolve(token) if token.startswith("dataset-") else None
    if key is None or key.type != "dataset":
        raise Unauthorized("Access token is invalid")


DatasetAuthDep = Annotated[None, Depends(dataset_auth)]

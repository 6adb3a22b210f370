"""App-level read endpoints: `/info`, `/parameters`, `/site`, `/meta`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kawa.api.auth import AppAuthDep, ServicesDep
from kawa.apps.inputs.parameters import app_info, app_parameters, app_site, tool_icons

router = APIRouter(tags=["app"])


@router.get("/info", summary="Basic information about the app")
async def get_info(auth: AppAuthDep) -> dict[str, Any]:
    return app_info(auth.app)


@router.get("/parameters", summary="Input form and feature settings of the app")
async def get_parameters(auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    version = await services.apps.current_version(auth.app)
    parameters = app_parameters(version.document, services.settings.upload)
    # Annotation reply is switched by /apps/annotation-reply, not by the export (Dify keeps it beside the app too).
    enabled = await services.annotations.store.setting(auth.app.id) is not None
    parameters["annotation_reply"] = {**(parameters.get("annotation_reply") or {}), "enabled": enabled}
    return parameters


@router.get("/site", summary="WebApp settings of the app")
async def get_site(auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    version = await services.apps.current_version(auth.app)
    return app_site(auth.app, version.document)


@router.get("/meta", summary="Icons of the tools the app uses")
async def get_meta(auth: AppAuthDep, services: ServicesDep) -> dict[str, Any]:
    version = await services.apps.current_version(auth.app)
    return {"tool_icons": tool_icons(version.document)}

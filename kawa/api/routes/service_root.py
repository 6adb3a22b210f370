"""`GET /v1/`: what Dify's Service API answers at its root (no key needed), with kawa's version as the server's."""

from __future__ import annotations

from fastapi import APIRouter

from kawa import __version__

router = APIRouter(tags=["app"])


@router.get("/", summary="The Service API's name and versions")
async def service_root() -> dict[str, str]:
    # "Dify OpenAPI" is the value Dify clients see there; kawa keeps it so that a probe for it still matches
    return {"welcome": "Dify OpenAPI", "api_version": "v1", "server_version": __version__}

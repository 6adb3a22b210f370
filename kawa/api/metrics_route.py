"""`GET /metrics`: Prometheus exposition of this server (every worker's values under `kawa serve --workers N`).
Outside `/v1`; when `telemetry.metrics_token` is set, a scrape must send it as a bearer token."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request, Response

from kawa.api.errors import error_response
from kawa.telemetry.metrics import CONTENT_TYPE, multiprocess_dir

router = APIRouter(tags=["ops"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    services = request.app.state.services
    collected = services.telemetry.metrics
    if collected is None:
        return error_response("not_found", "Metrics are turned off (KAWA_TELEMETRY__METRICS).", 404)
    token = services.settings.telemetry.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
            return error_response("unauthorized", "Access token is invalid", 401)
    # Many workers' files are read from disk: off the event loop.
    body = await asyncio.to_thread(collected.render) if multiprocess_dir() else collected.render()
    return Response(body, media_type=CONTENT_TYPE)

"""JSON bodies as Dify handles them: a JSON endpoint refuses other content types (415), and a blocking answer is
serialised with `json.dumps`' default separators."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from kawa.errors import KawaError


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if not content_type.split(";")[0].strip().lower().endswith("json"):
        raise KawaError(
            "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
            code="unsupported_media_type",
            status=415,
        )


JsonBody = Depends(require_json)


def blocking_json(payload: dict[str, Any]) -> Response:
    """Blocking run bodies use `json.dumps` default separators, as Dify sends them."""
    return Response(json.dumps(payload, ensure_ascii=False), media_type="application/json; charset=utf-8")

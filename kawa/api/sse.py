"""Server-sent events: `data: {json}\\n\\n` per event, `event: ping` every 10 s of silence, never buffered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

PING_INTERVAL_S = 10.0
PING = b"event: ping\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def encode_event(event: Mapping[str, Any]) -> bytes:
    data = b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    event_id = getattr(event, "event_id", None)  # events of a run's log carry their id, for Last-Event-ID
    return data if event_id is None else b"id: %d\n" % event_id + data


async def with_pings(
    events: AsyncIterator[Mapping[str, Any]], interval: float = PING_INTERVAL_S
) -> AsyncIterator[bytes]:
    """Encode events; while none arrives for `interval` seconds, send a ping so proxies keep the stream open."""
    iterator = events.__aiter__()
    pending: asyncio.Task[Mapping[str, Any]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield PING
                continue
            finished, pending = pending, None
            try:
                event = finished.result()
            except StopAsyncIteration:
                return
            yield encode_event(event)
    finally:
        if pending is not None:
            pending.cancel()


def sse_response(events: AsyncIterator[Mapping[str, Any]]) -> StreamingResponse:
    return StreamingResponse(with_pings(events), media_type="text/event-stream; charset=utf-8", headers=SSE_HEADERS)

"""The WebApp's event stream: the runners' Dify-shaped events as server-sent events, plus, when an answer ends,
a `kawa_rendered` event with the answer as HTML (Markdown and code highlighting done here, not in the browser)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

from kawa.web.markdown import render_markdown

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _encode(event: Mapping[str, Any]) -> bytes:
    event_id = getattr(event, "event_id", None)  # a run's logged events: the page resumes after a form from here
    if event_id is not None:
        event = {**event, "kawa_event_id": event_id}
    return b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


async def with_rendered_answer(events: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    answer: list[str] = []
    async for event in events:
        kind = event.get("event")
        if kind in ("message", "agent_message"):
            answer.append(str(event.get("answer") or ""))
        elif kind == "message_replace":
            answer = [str(event.get("answer") or "")]
        yield _encode(event)
        if kind == "message_end":
            html = render_markdown("".join(answer))
            yield _encode({"event": "kawa_rendered", "message_id": event.get("message_id"), "html": html})


def event_stream(events: AsyncIterator[Mapping[str, Any]]) -> StreamingResponse:
    return StreamingResponse(
        with_rendered_answer(events), media_type="text/event-stream; charset=utf-8", headers=SSE_HEADERS
    )

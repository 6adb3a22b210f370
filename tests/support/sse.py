"""Parse a server-sent event stream the way Dify clients do: `data: {json}` lines, pings as `event: ping`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


def iter_events(response: httpx.Response, *, include_pings: bool = False) -> Iterator[dict[str, Any]]:
    for _, event in iter_identified_events(response, include_pings=include_pings):
        yield event


def iter_identified_events(
    response: httpx.Response, *, include_pings: bool = False
) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """(SSE `id:` or None, event): a run's events carry their id in its event log (for `Last-Event-ID`)."""
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event_id: int | None = None
            if block.startswith("id: ") and "\n" in block:
                id_line, block = block.split("\n", 1)
                event_id = int(id_line[len("id: ") :])
            if block.startswith("data: "):
                yield event_id, json.loads(block[len("data: ") :])
            elif block.strip() == "event: ping" and include_pings:
                yield None, {"event": "ping"}
            elif block.strip():
                raise AssertionError(f"unexpected SSE block: {block!r}")


def stream_events(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[httpx.Response, list[dict[str, Any]]]:
    with client.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            response.read()
            return response, []
        return response, list(iter_events(response))

"""Parse a server-sent event stream the way Dify clients do: `data: {json}` lines, pings as `event: ping`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


def iter_events(response: httpx.Response, *, include_pings: bool = False) -> Iterator[dict[str, Any]]:
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            if block.startswith("data: "):
                yield json.loads(block[len("data: ") :])
            elif block.strip() == "event: ping" and include_pings:
                yield {"event": "ping"}
            elif block.strip():
                raise AssertionError(f"unexpected SSE block: {block!r}")


def stream_events(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[httpx.Response, list[dict[str, Any]]]:
    with client.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            response.read()
            return response, []
        return response, list(iter_events(response))

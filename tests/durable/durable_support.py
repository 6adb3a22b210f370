"""Helpers of the durable-run tests: the approval app, a server per test, and reading a run's streams."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from support.apps import ImportedApp, import_app
from support.server import RunningServer
from support.sse import iter_identified_events

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def approval_dsl(*, timeout_hours: int = 1) -> str:
    return (FIXTURES / "workflow-approval.yml").read_text().replace("timeout: TIMEOUT", f"timeout: {timeout_hours}")


@dataclass
class Served:
    server: RunningServer
    app: ImportedApp
    client: httpx.Client


@dataclass
class Stream:
    ids: list[int | None]
    events: list[dict[str, Any]]

    def names(self) -> list[str]:
        return [e["event"] for e in self.events]

    def first(self, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e["event"] == name)


def read_stream(response: httpx.Response, *, limit: int | None = None) -> Stream:
    stream = Stream([], [])
    for event_id, event in iter_identified_events(response):
        stream.ids.append(event_id)
        stream.events.append(event)
        if limit is not None and len(stream.events) >= limit:
            break
    return stream


def start_paused_run(client: httpx.Client, user: str = "reviewer", name: str = "Ada") -> Stream:
    with client.stream(
        "POST", "/workflows/run", json={"inputs": {"name": name}, "response_mode": "streaming", "user": user}
    ) as response:
        assert response.status_code == 200, response.read()
        return read_stream(response)


def reattach(
    client: httpx.Client, run_id: str, user: str, *, last_event_id: int | None = None, **params: Any
) -> Stream:
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    with client.stream(
        "GET", f"/workflow/{run_id}/events", params={"user": user, **params}, headers=headers
    ) as response:
        assert response.status_code == 200, response.read()
        return read_stream(response)


def wait_for_status(client: httpx.Client, run_id: str, status: str, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        detail: dict[str, Any] = client.get(f"/workflows/run/{run_id}").json()
        if detail.get("status") == status or time.monotonic() > deadline:
            return detail
        time.sleep(0.05)


def import_approval(settings: Any, *, timeout_hours: int = 1) -> ImportedApp:
    return import_app(settings, approval_dsl(timeout_hours=timeout_hours))


def contiguous(ids: Iterator[int | None] | list[int | None]) -> bool:
    values = list(ids)
    return all(v is not None for v in values) and values == list(range(values[0] or 0, (values[0] or 0) + len(values)))

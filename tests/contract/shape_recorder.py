"""Validates every answer a contract-test client receives against Dify's documented shapes (kawa.api.shapes):
an httpx response hook for JSON, bytes and empty answers, and `stream()` for event streams, every event checked.
It counts what it checked, so a test can assert every operation it meant to drive was validated."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import httpx
from pydantic import ValidationError

from kawa.api.shapes.base import ErrorBody
from kawa.api.shapes.events import Family, ShapeDrift, check_event
from kawa.api.shapes.operations import ANSWERS, check_response

Operation = tuple[str, str]


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^/v1" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


# literal segments win: fewer parameters first ("/datasets/tags" before "/datasets/{dataset_id}")
_TEMPLATES = sorted(ANSWERS, key=lambda op: op[1].count("{"))
_PATTERNS = [(op, _pattern(op[1])) for op in _TEMPLATES]


def operation_of(method: str, path: str) -> Operation:
    for (op_method, template), pattern in _PATTERNS:
        if op_method == method and pattern.match(path):
            return (op_method, template)
    raise ShapeDrift(f"{method} {path} is not an operation of Dify's Service API")


class ShapeRecorder:
    def __init__(self) -> None:
        self.operations: Counter[Operation] = Counter()
        self.errors: list[tuple[Operation, int, str]] = []
        self.events: Counter[str] = Counter()

    def client(self, base_url: str, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
            event_hooks={"response": [self._on_response]},
        )

    def _on_response(self, response: httpx.Response) -> None:
        request = response.request
        operation = operation_of(request.method, request.url.path)
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("text/event-stream"):
            check_response(operation, response.status_code, content_type, b"")
            return  # its events are checked as `stream()` reads them
        body = response.read()
        if response.status_code >= 400:
            try:
                ErrorBody.model_validate_json(body)
            except ValidationError as exc:
                raise ShapeDrift(f"{operation}: error body {exc}") from None
            self.errors.append((operation, response.status_code, body.decode()))
            return
        check_response(operation, response.status_code, content_type, body, blocking=True)
        self.operations[operation] += 1

    def stream(
        self, client: httpx.Client, method: str, path: str, family: Family, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Send a streaming request; every `data:` event is checked against its documented shape."""
        events: list[dict[str, Any]] = []
        with client.stream(method, path, **kwargs) as response:
            assert response.status_code == 200, response.read()
            buffer = ""
            for text in response.iter_text():
                buffer += text
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    lines = [line for line in block.split("\n") if not line.startswith("id: ")]
                    if lines == ["event: ping"]:
                        self.events["ping"] += 1
                        continue
                    assert len(lines) == 1 and lines[0].startswith("data: "), block
                    event = json.loads(lines[0][len("data: ") :])
                    self.events[check_event(family, event)] += 1
                    events.append(event)
        self.operations[operation_of(method, response.request.url.path)] += 1
        return events

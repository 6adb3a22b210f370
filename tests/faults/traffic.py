"""Client traffic for the fault suite: streaming and blocking requests in background threads, each keeping
everything it received (status, raw body, parsed events, transport error) for the invariant checks.

Every request is bounded: a connect and read timeout, and `Traffic.join` gives up on a thread after its deadline
and reports that client as hung instead of waiting for it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

TERMINAL_EVENTS = frozenset({"message_end", "workflow_finished", "error"})


@dataclass
class ClientOutcome:
    """What one client saw of one request."""

    label: str
    user: str
    streaming: bool
    api_url: str = ""
    key: str = ""
    status: int | None = None
    raw: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    body: Any = None
    transport_error: str | None = None
    hung: bool = False
    elapsed_s: float = 0.0
    ended_at: float = 0.0  # time.monotonic() when the request ended
    acknowledged: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def _values(self, key: str) -> set[str]:
        found: set[str] = set()
        for item in [*self.events, self.body if isinstance(self.body, dict) else {}]:
            for source in (item, item.get("data") if isinstance(item.get("data"), dict) else {}):
                value = source.get(key)
                if isinstance(value, str) and value:
                    found.add(value)
        return found

    @property
    def run_ids(self) -> set[str]:
        return self._values("workflow_run_id")

    @property
    def message_ids(self) -> set[str]:
        ids = self._values("message_id")
        if isinstance(self.body, dict) and self.body.get("event") == "message" and self.body.get("id"):
            ids.add(str(self.body["id"]))
        return ids

    @property
    def conversation_ids(self) -> set[str]:
        return self._values("conversation_id")

    @property
    def task_ids(self) -> set[str]:
        return self._values("task_id")

    @property
    def last_event(self) -> str | None:
        return str(self.events[-1].get("event")) if self.events else None

    def kind(self) -> str:
        """A short name for how this request ended, for the table."""
        if self.hung:
            return "hung"
        if self.status is not None and self.status != 200:
            code = self.body.get("code") if isinstance(self.body, dict) else None
            return f"HTTP {self.status} {code or '(no code)'}"
        if self.transport_error:
            return f"cut ({self.transport_error})" if not self.events else f"cut after {self.last_event}"
        if self.streaming:
            return f"ended with {self.last_event or 'nothing'}"
        return f"HTTP {self.status}"


def _parse_block(block: str) -> dict[str, Any] | None:
    for line in block.splitlines():
        if line.startswith("data:"):
            text = line[len("data:") :].strip()
            try:
                parsed = json.loads(text)
            except ValueError:
                return {"event": "<unparseable>", "text": text}
            return parsed if isinstance(parsed, dict) else {"event": "<unparseable>", "text": text}
    return None


def run_stream(outcome: ClientOutcome, key: str, path: str, body: dict[str, Any], read_timeout: float) -> None:
    started = time.monotonic()
    timeout = httpx.Timeout(read_timeout, connect=5.0)
    try:
        with (
            httpx.Client(base_url=outcome.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout) as c,
            c.stream("POST", path, json=body) as response,
        ):
            outcome.status = response.status_code
            buffer = ""
            for text in response.iter_text():
                outcome.raw += text
                buffer += text
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    event = _parse_block(block)
                    if event is not None:
                        outcome.events.append(event)
                        outcome.acknowledged.set()
            if response.status_code != 200:
                outcome.body = _json_or_none(outcome.raw)
    except httpx.HTTPError as exc:
        outcome.transport_error = type(exc).__name__
    finally:
        outcome.ended_at = time.monotonic()
        outcome.elapsed_s = outcome.ended_at - started
        outcome.acknowledged.set()
        outcome.done.set()


def run_blocking(outcome: ClientOutcome, key: str, path: str, body: dict[str, Any], read_timeout: float) -> None:
    started = time.monotonic()
    timeout = httpx.Timeout(read_timeout, connect=5.0)
    try:
        with httpx.Client(base_url=outcome.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout) as c:
            response = c.post(path, json=body)
            outcome.status = response.status_code
            outcome.raw = response.text
            outcome.body = _json_or_none(response.text)
    except httpx.HTTPError as exc:
        outcome.transport_error = type(exc).__name__
    finally:
        outcome.ended_at = time.monotonic()
        outcome.elapsed_s = outcome.ended_at - started
        outcome.acknowledged.set()
        outcome.done.set()


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def chat_body(query: str, user: str, streaming: bool) -> dict[str, Any]:
    return {
        "query": query,
        "inputs": {},
        "user": user,
        "conversation_id": "",
        "response_mode": "streaming" if streaming else "blocking",
        "auto_generate_name": False,
    }


class Traffic:
    """Requests running in background threads; `outcomes` keeps every one of them for the checks."""

    def __init__(self) -> None:
        self.outcomes: list[ClientOutcome] = []
        self._threads: list[tuple[threading.Thread, ClientOutcome]] = []

    def chat(
        self, api_url: str, key: str, label: str, *, streaming: bool = True, read_timeout: float = 30.0
    ) -> ClientOutcome:
        """Send a chat message (chat and chatflow apps) as a new conversation of a new user."""
        user = f"fault-{uuid.uuid4().hex[:8]}"
        outcome = ClientOutcome(label=label, user=user, streaming=streaming, api_url=api_url, key=key)
        run: Callable[..., None] = run_stream if streaming else run_blocking
        body = chat_body(f"question from {label}", user, streaming)
        thread = threading.Thread(target=run, args=(outcome, key, "/chat-messages", body, read_timeout), daemon=True)
        thread.start()
        self.outcomes.append(outcome)
        self._threads.append((thread, outcome))
        return outcome

    def wait_acknowledged(self, timeout: float) -> None:
        """Wait until every client has received its first event (so the ids it holds are acknowledged)."""
        deadline = time.monotonic() + timeout
        for outcome in self.outcomes:
            if not outcome.acknowledged.wait(max(0.0, deadline - time.monotonic())):
                raise AssertionError(f"{outcome.label} got no first event within {timeout} s")

    def join(self, timeout: float) -> None:
        """Wait for every request to end; a request still open after `timeout` seconds is marked hung."""
        deadline = time.monotonic() + timeout
        for thread, outcome in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                outcome.hung = True

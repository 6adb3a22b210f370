"""The four promises every fault scenario checks, and the report they make for the before/after table.

- nothing stuck: no run, node execution or message stays `running` later than the lease time after the fault;
- nothing lost: every run and message whose id a client received is in the database, and a message a client saw
  end is stored with the answer it was streamed;
- nothing leaked: no SQL, traceback or host:port in anything a client received or a `GET` endpoint returns;
- every client finished: its stream ended with a terminal event, it got an error status in Dify's shape, or (its
  connection was cut with its server) a live server reports its run/message in a terminal state.

A scenario builds a `FaultReport` with `check_invariants`, adds its own expectations with `expect`, and calls
`finish()`, which appends the report to the file named by KAWA_FAULTS_REPORT (read by bench/faults_table.py) and
then fails the test on any violation."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from traffic import TERMINAL_EVENTS, ClientOutcome

LEASE_S = 15.0
"""Leases, not hope: a record of a dead owner, or whose final write failed, leaves `running` within this time."""

RECORD_TABLES = ("workflow_runs", "node_executions", "messages")

_LEAK_PATTERNS = {
    # Statements as drivers print them (upper case), so that prose such as "select one from the list" is no leak.
    "SQL": re.compile(r"\[SQL:|\bSELECT\b[^\n]{0,200}\bFROM\b|\bINSERT INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE FROM\b"),
    "database error": re.compile(
        r"sqlalchemy|psycopg|aiosqlite|asyncpg|\bsqlite3\b|IntegrityError|OperationalError|ProgrammingError"
        r"|NotNullViolation",
        re.IGNORECASE,
    ),
    "traceback": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    "host:port": re.compile(
        r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|localhost)(?::\d{2,5})\b|\('(?:\d{1,3}(?:\.\d{1,3}){3}|localhost)', \d+\)"
        r"|\b(?:redis|postgresql|postgres)(?:\+\w+)?://",
        re.IGNORECASE,
    ),
}


class RecordDatabase:
    """Reads kawa's tables directly (a synchronous engine, no pooling), so the checks see what is stored."""

    def __init__(self, url: str) -> None:
        url = url.replace("+aiosqlite", "")
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def close(self) -> None:
        self._engine.dispose()

    def running(self, since: float = 0.0) -> list[str]:
        """Records `running` that were created at or after `since` (epoch seconds, as kawa stores them)."""
        with self._engine.connect() as conn:
            return [
                f"{table}:{row[0]}"
                for table in RECORD_TABLES
                for row in conn.execute(
                    sa.text(f"SELECT id FROM {table} WHERE status = 'running' AND created_at >= :since"),
                    {"since": since},
                )
            ]

    def present(self, table: str, ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        with self._engine.connect() as conn:
            statement = sa.text(f"SELECT id FROM {table} WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            )
            return {row[0] for row in conn.execute(statement, {"ids": wanted})}

    def statuses(self, table: str, ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """`id -> (status, error)` of these records."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        statement = sa.text(f"SELECT id, status, error FROM {table} WHERE id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        with self._engine.connect() as conn:
            return {row[0]: (row[1], row[2]) for row in conn.execute(statement, {"ids": wanted})}

    def unexplained_ends(self) -> list[str]:
        """Runs that ended failed/stopped, and messages that ended in error, with no reason recorded."""
        queries = {
            "workflow_runs": "status IN ('failed', 'stopped')",
            "messages": "status = 'error'",
        }
        with self._engine.connect() as conn:
            return [
                f"{table}:{row[0]}"
                for table, where in queries.items()
                for row in conn.execute(sa.text(f"SELECT id FROM {table} WHERE {where} AND coalesce(error, '') = ''"))
            ]


def stuck_records(db: RecordDatabase, fault_at: float, since: float = 0.0, lease_s: float = LEASE_S) -> list[str]:
    """Records (created since `since`) still `running` once `lease_s` seconds have passed since the fault."""
    while True:
        running = db.running(since)
        if not running or time.monotonic() >= fault_at + lease_s:
            return running
        time.sleep(0.25)


def lost_records(db: RecordDatabase, outcomes: Iterable[ClientOutcome]) -> list[str]:
    outcomes = list(outcomes)
    runs = set().union(*(o.run_ids for o in outcomes))
    messages = set().union(*(o.message_ids for o in outcomes))
    lost = [f"workflow_runs:{i}" for i in sorted(runs - db.present("workflow_runs", runs))]
    return lost + [f"messages:{i}" for i in sorted(messages - db.present("messages", messages))]


def leaked_text(sources: Iterable[tuple[str, str]], own_urls: Iterable[str] = ()) -> list[str]:
    """`source: kinds: excerpt` for every response that carries internal details (one line per response);
    kawa's own public URLs are not a leak."""
    found: list[str] = []
    for source, text in sources:
        for url in own_urls:
            text = text.replace(url, "<kawa>")
        matches = [(kind, m) for kind, pattern in _LEAK_PATTERNS.items() if (m := pattern.search(text))]
        if matches:
            first = min((m for _, m in matches), key=lambda m: m.start())
            excerpt = text[max(0, first.start() - 60) : first.end() + 60].replace("\n", " ")
            found.append(f"{source}: {', '.join(kind for kind, _ in matches)}: …{excerpt}…")
    return found


@dataclass
class RecordViews:
    """What a live server's GET endpoints say about the records the clients were told about."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    run_status: dict[str, str | None] = field(default_factory=dict)
    message_status: dict[str, str | None] = field(default_factory=dict)
    message_answer: dict[str, str] = field(default_factory=dict)


def read_back(api_url: str, outcomes: Iterable[ClientOutcome]) -> RecordViews:
    """GET every acknowledged run and every acknowledged conversation's messages from a live server."""
    views = RecordViews()
    with httpx.Client(base_url=api_url, timeout=10) as client:
        for outcome in outcomes:
            client.headers["Authorization"] = f"Bearer {outcome.key}"
            for run_id in sorted(outcome.run_ids):
                response = client.get(f"/workflows/run/{run_id}")
                views.texts.append((f"GET /workflows/run/{run_id}", response.text))
                body = response.json() if response.status_code == 200 else {}
                views.run_status[run_id] = body.get("status")
            if outcome.conversation_ids:
                response = client.get("/conversations", params={"user": outcome.user})
                views.texts.append((f"GET /conversations?user={outcome.user}", response.text))
            for conversation_id in sorted(outcome.conversation_ids):
                response = client.get("/messages", params={"conversation_id": conversation_id, "user": outcome.user})
                views.texts.append((f"GET /messages?conversation_id={conversation_id}", response.text))
                rows = response.json().get("data", []) if response.status_code == 200 else []
                for row in rows:
                    views.message_status[row["id"]] = row.get("status")
                    views.message_answer[row["id"]] = str(row.get("answer") or "")
    return views


def altered_answers(outcomes: Iterable[ClientOutcome], views: RecordViews) -> list[str]:
    """Messages a client saw end (`message_end`) whose stored answer is not the answer it was streamed."""
    altered: list[str] = []
    for outcome in outcomes:
        if not outcome.streaming or outcome.last_event != "message_end":
            continue
        streamed = "".join(str(e.get("answer", "")) for e in outcome.events if e.get("event") == "message")
        for message_id in outcome.message_ids:
            stored = views.message_answer.get(message_id)
            if stored != streamed:
                altered.append(
                    f"messages:{message_id} ({outcome.label}): stored {stored!r:.80}, streamed {streamed!r:.80}"
                )
    return altered


def _dify_error(body: Any) -> bool:
    return isinstance(body, dict) and {"code", "message", "status"} <= body.keys()


def unfinished_clients(outcomes: Iterable[ClientOutcome], views: RecordViews) -> list[str]:
    """Clients with neither a terminal event, nor an error status in Dify's shape, nor a terminal record."""
    unfinished: list[str] = []
    for outcome in outcomes:
        if outcome.hung:
            unfinished.append(f"{outcome.label}: still open (hung)")
        elif outcome.status is not None and outcome.status != 200:
            if not _dify_error(outcome.body):
                unfinished.append(f"{outcome.label}: HTTP {outcome.status} without a Dify error body")
        elif outcome.transport_error is None:
            if outcome.streaming and outcome.last_event not in TERMINAL_EVENTS:
                unfinished.append(f"{outcome.label}: stream ended after {outcome.last_event}, not a terminal event")
        else:
            states = [views.run_status.get(i) for i in outcome.run_ids]
            states += [views.message_status.get(i) for i in outcome.message_ids]
            if not states:
                unfinished.append(f"{outcome.label}: cut ({outcome.transport_error}) before any id arrived")
            elif any(state in (None, "", "running") for state in states):
                unfinished.append(f"{outcome.label}: cut, and its records read back as {states}")
    return unfinished


@dataclass
class FaultReport:
    scenario: str
    clients: int
    stuck: list[str]
    lost: list[str]
    leaked: list[str]
    unfinished: list[str]
    outcomes: str
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> None:
        """A scenario's own promise (e.g. "streams end with an error event"); a broken one fails the test."""
        if not condition:
            self.problems.append(problem)

    def violations(self) -> list[str]:
        sections = [
            ("stuck running", self.stuck),
            ("lost", self.lost),
            ("leaked", self.leaked),
            ("without a terminal event or status", self.unfinished),
            ("other", self.problems),
        ]
        return [f"{title}: {item}" for title, items in sections for item in items]

    def record(self) -> None:
        path = os.environ.get("KAWA_FAULTS_REPORT")
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(self.__dict__) + "\n")

    def finish(self) -> None:
        finish_all([self])


def finish_all(reports: list[FaultReport]) -> None:
    """Record every report for the table, then fail on any violation of any of them."""
    for report in reports:
        report.record()
    lines = [f"{r.scenario}: {v}" for r in reports for v in r.violations()]
    assert not lines, f"{len(lines)} violation(s):\n" + "\n".join(lines[:60])


def check_invariants(
    scenario: str,
    *,
    db: RecordDatabase,
    fault_at: float,
    outcomes: list[ClientOutcome],
    live_api_url: str | Callable[[], str],
    own_urls: Iterable[str] = (),
    extra_texts: Iterable[tuple[str, str]] = (),
    records_since: float = 0.0,
) -> FaultReport:
    """Run the four checks (stuck first: it waits up to the lease time) and summarise the client outcomes.
    `fault_at` is a `time.monotonic()` instant; `records_since` (epoch seconds) limits the stuck check to the
    records of this scenario when several share a database. `live_api_url` may be a function, called after the
    stuck check, when the server that reads records back must start only then (it would repair records at start)."""
    stuck = stuck_records(db, fault_at, records_since)
    views = read_back(live_api_url if isinstance(live_api_url, str) else live_api_url(), outcomes)
    lost = lost_records(db, outcomes) + altered_answers(outcomes, views)
    client_texts = [(f"client {o.label}", o.raw) for o in outcomes]
    leaked = leaked_text([*client_texts, *views.texts, *extra_texts], own_urls)
    summary = Counter(o.kind() for o in outcomes)
    return FaultReport(
        scenario=scenario,
        clients=len(outcomes),
        stuck=stuck,
        lost=lost,
        leaked=leaked,
        unfinished=unfinished_clients(outcomes, views),
        outcomes=", ".join(f"{n}× {kind}" for kind, n in summary.most_common()),
    )

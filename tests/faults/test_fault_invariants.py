"""The fault suite's checks catch what they claim to: a check that cannot fail would make every scenario pass."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from invariants import (
    RecordDatabase,
    RecordViews,
    altered_answers,
    leaked_text,
    lost_records,
    stuck_records,
    unfinished_clients,
)
from traffic import ClientOutcome


def _database(path: Path) -> RecordDatabase:
    with sqlite3.connect(path) as conn:
        for table in ("workflow_runs", "node_executions", "messages"):
            conn.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, status TEXT, error TEXT, created_at REAL)")
        now = time.time()
        conn.execute("INSERT INTO workflow_runs VALUES ('run-done', 'succeeded', NULL, ?)", (now,))
        conn.execute("INSERT INTO workflow_runs VALUES ('run-stuck', 'running', NULL, ?)", (now,))
        conn.execute("INSERT INTO workflow_runs VALUES ('run-old', 'running', NULL, ?)", (now - 3600,))
        conn.execute("INSERT INTO messages VALUES ('msg-failed', 'error', '', ?)", (now,))
    return RecordDatabase(f"sqlite+aiosqlite:///{path}")


def _stream(label: str, events: list[dict[str, object]], **fields: object) -> ClientOutcome:
    outcome = ClientOutcome(label=label, user="u", streaming=True, status=200, events=events)
    for name, value in fields.items():
        setattr(outcome, name, value)
    return outcome


def test_records_still_running_after_the_lease_are_stuck(tmp_path: Path) -> None:
    db = _database(tmp_path / "kawa.db")
    started = time.monotonic()
    assert stuck_records(db, started, lease_s=0.3) == ["workflow_runs:run-stuck", "workflow_runs:run-old"]
    assert time.monotonic() - started >= 0.3
    assert stuck_records(db, started, since=time.time() - 60, lease_s=0) == ["workflow_runs:run-stuck"]
    db.close()


def test_an_acknowledged_id_missing_from_the_database_is_lost(tmp_path: Path) -> None:
    db = _database(tmp_path / "kawa.db")
    events: list[dict[str, object]] = [
        {"event": "workflow_started", "workflow_run_id": "run-done"},
        {"event": "message", "message_id": "msg-never-written", "workflow_run_id": "run-gone"},
    ]
    assert lost_records(db, [_stream("a", events)]) == ["workflow_runs:run-gone", "messages:msg-never-written"]
    assert db.unexplained_ends() == ["messages:msg-failed"]
    db.close()


def test_internal_text_is_found_and_kawas_own_url_and_prose_are_not() -> None:
    found = leaked_text(
        [
            ("sql", 'error: "[SQL: UPDATE workflow_runs SET status=%(status)s]"'),
            ("driver", "Internal error: IntegrityError: (psycopg.errors.NotNullViolation)"),
            ("traceback", 'Traceback (most recent call last):\n  File "/x.py", line 3, in f'),
            ("host", "Connection refused: 127.0.0.1:5432"),
            ("tuple", "Connect call failed ('127.0.0.1', 6379)"),
            ("url", "postgresql+psycopg://postgres@db/kawa"),
            ("own url", "see http://127.0.0.1:5001/files/x"),
            ("prose", "Select one item from the list, then update the set."),
        ],
        own_urls=["http://127.0.0.1:5001"],
    )
    assert {item.split(":")[0] for item in found} == {"sql", "driver", "traceback", "host", "tuple", "url"}


def test_a_client_without_a_terminal_event_or_status_is_unfinished() -> None:
    ok = [
        _stream("ended", [{"event": "message", "message_id": "m1"}, {"event": "message_end", "message_id": "m1"}]),
        _stream("error event", [{"event": "error", "code": "x"}]),
        ClientOutcome(
            label="503", user="u", streaming=False, status=503, body={"code": "c", "message": "m", "status": 503}
        ),
        _stream("cut, failed", [{"event": "message", "message_id": "m2"}], transport_error="RemoteProtocolError"),
    ]
    bad = [
        _stream("no end", [{"event": "message", "message_id": "m3"}]),
        ClientOutcome(label="500 text", user="u", streaming=False, status=500, body=None),
        _stream("cut, running", [{"event": "message", "message_id": "m4"}], transport_error="ReadError"),
        _stream("cut early", [], transport_error="ReadError"),
        _stream("hung", [], hung=True),
    ]
    views = RecordViews(message_status={"m2": "error", "m4": "running"})
    unfinished = unfinished_clients([*ok, *bad], views)
    assert [line.split(":")[0] for line in unfinished] == [o.label for o in bad]


def test_a_message_stored_with_another_answer_than_it_streamed_is_lost() -> None:
    events: list[dict[str, object]] = [
        {"event": "message", "message_id": "m1", "answer": "Hello "},
        {"event": "message", "message_id": "m1", "answer": "world"},
        {"event": "message_end", "message_id": "m1"},
    ]
    outcome = _stream("a", events)
    assert altered_answers([outcome], RecordViews(message_answer={"m1": "Hello world"})) == []
    assert len(altered_answers([outcome], RecordViews(message_answer={"m1": "Hello "}))) == 1
    assert len(altered_answers([outcome], RecordViews())) == 1

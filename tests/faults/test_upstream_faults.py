"""A misbehaving model server (429, 500, a hang before any header, a stream cut mid-answer, a malformed chunk):
every client of a chat app and of a chatflow, streaming or blocking, gets a clear error in Dify's shape within a
bounded time, the records end failed, and nothing about the upstream (its host, port, SDK text) reaches a client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from invariants import RecordDatabase, check_invariants, finish_all
from processes import KawaEnvironment, KawaProcess, Processes
from support.databases import fresh_postgres_database, postgres_available
from traffic import Traffic

MODEL = "gpt-4o-mini"
MODEL_TIMEOUT_S = 3.0
MODEL_RETRIES = 2
MODEL_CALL_DEADLINE_S = 4.0
TOTAL_BOUND_S = MODEL_CALL_DEADLINE_S + 3
"""A hung upstream holds a request for the call's deadline (all tries together), not one read timeout per try
(3 tries x 3 s here)."""

FAULTS = {
    "429": Scenario(status=429, error_message="Rate limit reached for requests", retry_after_s=0.2),
    "500": Scenario(status=500, error_message="The server had an error while processing your request."),
    "hang": Scenario(hang_before_headers_s=60.0),
    "dropped stream": Scenario(text="one two three four five six", drop_after_chunks=2),
    "malformed chunk": Scenario(text="one two three four five six", malformed_after_chunks=2),
}


def _error_code(body: object) -> str | None:
    return str(body.get("code")) if isinstance(body, dict) else None


@dataclass
class ModelFaultServer:
    server: KawaProcess
    keys: dict[str, str]
    db: RecordDatabase


@pytest.fixture(scope="module")
def model_fault_server(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelFaultServer]:
    """One process on a fresh PostgreSQL database for every fault (each test checks only its own records)."""
    problem = postgres_available()
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    running = Processes()
    with fresh_postgres_database() as url:
        environment = KawaEnvironment(
            home=tmp_path_factory.mktemp("model-faults"),
            database_url=url,
            upstream_url=upstream.base_url,
            model_timeout_s=MODEL_TIMEOUT_S,
            model_max_retries=MODEL_RETRIES,
            model_call_deadline_s=MODEL_CALL_DEADLINE_S,
        )
        keys = environment.import_apps("chatflow", "chat")
        db = RecordDatabase(url)
        try:
            yield ModelFaultServer(running.start(environment, "kawa"), keys, db)
        finally:
            running.stop_all()
            db.close()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_model_server_fault_ends_every_request_with_a_clear_error(
    fault: str, fake: FakeOpenAI, model_fault_server: ModelFaultServer
) -> None:
    server, keys = model_fault_server.server, model_fault_server.keys
    fake.on_model(MODEL, FAULTS[fault])
    traffic = Traffic()
    records_since = time.time() - 1
    fault_at = time.monotonic()
    for app, key in keys.items():
        for mode in ("streaming", "blocking"):
            traffic.chat(server.api_url, key, f"{app}/{mode}", streaming=mode == "streaming", read_timeout=60)
    traffic.join(timeout=TOTAL_BOUND_S + 20)

    reports = []
    for app in keys:
        outcomes = [o for o in traffic.outcomes if o.label.split("/")[0] == app]
        report = check_invariants(
            f"model server: {fault} ({app})",
            db=model_fault_server.db,
            fault_at=fault_at,
            outcomes=outcomes,
            live_api_url=server.api_url,
            own_urls=[server.base_url],
            records_since=records_since,
        )
        for outcome in outcomes:
            report.expect(
                outcome.elapsed_s <= TOTAL_BOUND_S,
                f"{outcome.label} took {outcome.elapsed_s:.1f} s (bound {TOTAL_BOUND_S:.0f} s)",
            )
            if outcome.streaming:
                report.expect(outcome.last_event == "error", f"{outcome.label}: ended with {outcome.last_event}")
                code = _error_code(outcome.events[-1]) if outcome.events else None
            else:
                report.expect((outcome.status or 0) >= 400, f"{outcome.label}: HTTP {outcome.status}, not an error")
                code = _error_code(outcome.body)
            if fault == "429":
                report.expect(
                    code not in (None, "internal_server_error") and outcome.status != 500,
                    f"{outcome.label}: an upstream rate limit came back as HTTP {outcome.status} {code}",
                )
        reports.append(report)
    finish_all(reports)

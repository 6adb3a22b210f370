"""PostgreSQL goes away for 10 s under load (a TCP proxy between kawa and the database resets every connection and
refuses new ones): requests during the outage answer 503 in Dify's shape, open streams end with a terminal event,
kawa recovers by itself when the database returns, and no record is left `running`."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fakes.openai_server import FakeOpenAI, Scenario
from invariants import RecordDatabase, check_invariants
from processes import KawaEnvironment, Processes
from support.tcp_proxy import TcpProxy
from traffic import ClientOutcome, Traffic

MODEL = "gpt-4o-mini"
OUTAGE_S = 10.0
RECOVERY_BOUND_S = 15.0
"""Longest kawa may take, once the database is back, to answer a new request again."""


def test_database_cut_for_10_s_mid_load(
    fake: FakeOpenAI, postgres_url: str, record_db: RecordDatabase, processes: Processes, tmp_path: Path
) -> None:
    # Answers of about 5 s: the streams open at the cut end (and try to record their end) during the outage.
    fake.on_model(MODEL, Scenario(text=" ".join(f"word{i}" for i in range(20)), chunk_delay_s=0.25))
    target = urlsplit(postgres_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        environment = KawaEnvironment(
            home=tmp_path / "home", database_url=proxy.rewrite(postgres_url), upstream_url=fake.base_url
        )
        keys = environment.import_apps("chatflow", "chat")
        server = processes.start(environment, "kawa")
        traffic = Traffic()
        for app, key in keys.items():
            for n in range(3):
                traffic.chat(server.api_url, key, f"before/{app}/{n}", read_timeout=60)
        traffic.wait_acknowledged(timeout=30)
        known_run = next(iter(traffic.outcomes[0].run_ids))

        proxy.cut()
        during: list[ClientOutcome] = []
        reads: list[tuple[str, httpx.Response | str, float]] = []
        cut_until = time.monotonic() + OUTAGE_S
        with httpx.Client(base_url=server.api_url, timeout=OUTAGE_S) as client:
            while time.monotonic() < cut_until - 1:
                for app, key in keys.items():
                    during.append(traffic.chat(server.api_url, key, f"during/{app}", streaming=False, read_timeout=30))
                try:
                    response = client.get(
                        f"/workflows/run/{known_run}", headers={"Authorization": f"Bearer {keys['chatflow']}"}
                    )
                    reads.append(("GET /workflows/run during the outage", response, time.monotonic()))
                except httpx.HTTPError as exc:
                    reads.append(("GET /workflows/run during the outage", type(exc).__name__, time.monotonic()))
                time.sleep(1.0)
        time.sleep(max(0.0, cut_until - time.monotonic()))
        proxy.restore()
        fault_at = restored_at = time.monotonic()

        recovered_after = None
        while recovered_after is None and time.monotonic() < fault_at + RECOVERY_BOUND_S:
            probe = traffic.chat(server.api_url, keys["chat"], "after/probe", streaming=False, read_timeout=30)
            probe.done.wait(RECOVERY_BOUND_S)
            if probe.status == 200:
                recovered_after = time.monotonic() - fault_at
            else:
                time.sleep(0.5)
        traffic.join(timeout=40)

        report = check_invariants(
            "PostgreSQL cut for 10 s mid-load",
            db=record_db,
            fault_at=fault_at,
            outcomes=traffic.outcomes,
            live_api_url=server.api_url,
            own_urls=[server.base_url],
            extra_texts=[(source, r.text if isinstance(r, httpx.Response) else r) for source, r, _ in reads],
        )
    # A request answered during the outage gets 503; one held until the database came back may succeed.
    for outcome in during:
        report.expect(
            outcome.status == 503 or (outcome.status == 200 and outcome.ended_at > restored_at),
            f"{outcome.label} during the outage: {outcome.kind()}, not 503",
        )
    for source, response, arrived_at in reads:
        status = response.status_code if isinstance(response, httpx.Response) else response
        report.expect(status == 503 or (status == 200 and arrived_at > restored_at), f"{source}: {status}, not 503")
    report.expect(
        recovered_after is not None,
        f"no request succeeded within {RECOVERY_BOUND_S:.0f} s of the database coming back",
    )
    report.expect(server.alive(), "the process died during the outage")
    report.finish()

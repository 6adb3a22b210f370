"""A server killed mid-run leaves no run `running`: the next server start marks it `failed` with a reason."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.server import free_port
from support.sse import iter_events

from kawa.services import open_services
from kawa.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dsl"
KAWA = [sys.executable, "-m", "kawa.cli"]


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*KAWA, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "kawa serve did not start"
        time.sleep(0.05)


def test_killed_server_leaves_a_failed_run_not_a_running_one(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAWA_")}
    env.update(KAWA_HOME=str(tmp_path / "home"), KAWA_DATABASE_URL=database_url)
    imported = json.loads(
        subprocess.run(
            [*KAWA, "app", "import", str(FIXTURES / "workflow-slow.yml"), "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    headers = {"Authorization": f"Bearer {imported['api_key']}"}
    port = free_port()
    server = _serve(env, port)
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", headers=headers, timeout=30) as client,
            client.stream(
                "POST", "/workflows/run", json={"inputs": {"seconds": 60}, "user": "u", "response_mode": "streaming"}
            ) as response,
        ):
            for event in iter_events(response):
                if event["event"] == "node_started" and event["data"]["node_type"] == "code":
                    run_id = event["workflow_run_id"]
                    time.sleep(0.6)  # let the recorder flush the started nodes
                    server.send_signal(signal.SIGKILL)
                    break
    except httpx.HTTPError:
        pass
    server.wait(timeout=10)

    port = free_port()
    server = _serve(env, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", headers=headers) as client:
            record = client.get(f"/workflows/run/{run_id}").json()
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert record["status"] == "failed"
    assert record["error"] == "The server stopped while this run was in progress."
    assert record["finished_at"] is not None
    nodes = asyncio.run(_node_executions(tmp_path / "home", database_url, run_id))
    assert nodes == [("start", "succeeded"), ("code", "failed")]


async def _node_executions(home: Path, database_url: str, run_id: str) -> list[tuple[str, str]]:
    async with open_services(Settings(home=home, database_url=database_url)) as services:
        return [(n.node_type, n.status) for n in await services.runs.node_executions(run_id)]

"""Workflow stream details as Dify sends them: the End node's `text_chunk`s stream between its node_started and
node_finished, a code node's `process_data` is `{}`, large node payloads are cut and flagged `*_truncated` while
the run's outputs stay whole, and a `file://` URL in an HTTP request node fails with a clear message."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from support.apps import import_app
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server
from support.sse import stream_events

from kawa.settings import Settings, WorkflowSettings

AGGREGATED = """
app: {mode: workflow, name: Aggregated}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, sourceHandle: source, target: shout, targetHandle: target, type: custom}
    - {id: e2, source: shout, sourceHandle: source, target: pick, targetHandle: target, type: custom}
    - {id: e3, source: pick, sourceHandle: source, target: end, targetHandle: target, type: custom}
    nodes:
    - id: start
      type: custom
      data:
        type: start
        title: Start
        variables: [{variable: text, label: Text, type: paragraph, required: true, max_length: 100000000}]
    - id: shout
      type: custom
      data:
        type: template-transform
        title: Shout
        variables: [{variable: text, value_selector: [start, text]}]
        template: '{{ text | upper }}'
    - id: pick
      type: custom
      data: {type: variable-aggregator, title: Pick, output_type: string, variables: [[shout, output]]}
    - id: end
      type: custom
      data:
        type: end
        title: End
        outputs: [{variable: result, value_selector: [pick, output], value_type: string}]
"""

CODE = """
app: {mode: workflow, name: Code}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, sourceHandle: source, target: code, targetHandle: target, type: custom}
    - {id: e2, source: code, sourceHandle: source, target: end, targetHandle: target, type: custom}
    nodes:
    - id: start
      type: custom
      data: {type: start, title: Start, variables: []}
    - id: code
      type: custom
      data:
        type: code
        title: Code
        code_language: python3
        code: |
          def main() -> dict:
              return {"x": "y"}
        variables: []
        outputs: {x: {type: string, children: null}}
    - id: end
      type: custom
      data: {type: end, title: End, outputs: [{variable: x, value_selector: [code, x], value_type: string}]}
"""

FILE_URL = """
app: {mode: workflow, name: Fetch}
kind: app
version: 0.4.0
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, sourceHandle: source, target: fetch, targetHandle: target, type: custom}
    - {id: e2, source: fetch, sourceHandle: source, target: end, targetHandle: target, type: custom}
    nodes:
    - id: start
      type: custom
      data: {type: start, title: Start, variables: []}
    - id: fetch
      type: custom
      data:
        type: http-request
        title: Fetch
        method: get
        url: file:///etc/passwd
        authorization: {type: no-auth}
        headers: ''
        params: ''
        body: {type: none, data: []}
        timeout: {}
    - id: end
      type: custom
      data: {type: end, title: End, outputs: [{variable: body, value_selector: [fetch, body], value_type: string}]}
"""


def run(client: httpx.Client, inputs: dict[str, object]) -> list[dict]:
    response, events = stream_events(
        client, "/workflows/run", {"inputs": inputs, "user": "alice", "response_mode": "streaming"}
    )
    assert response.status_code == 200, response.text
    return events


def node_events(events: list[dict], node_id: str) -> dict[str, dict]:
    return {e["event"]: e for e in events if e["event"].startswith("node_") and e["data"]["node_id"] == node_id}


def test_the_end_nodes_text_chunks_come_between_its_started_and_finished(server: RunningServer) -> None:
    with client_for(server, import_app(server.settings, AGGREGATED).api_key) as client:
        events = run(client, {"text": "otters"})
    names = [(e["event"], e.get("data", {}).get("node_id")) for e in events]
    chunks = [i for i, e in enumerate(events) if e["event"] == "text_chunk"]
    assert chunks and "".join(events[i]["data"]["text"] for i in chunks) == "OTTERS"
    assert names.index(("node_finished", "pick")) < names.index(("node_started", "end")) < chunks[0]
    assert chunks[-1] < names.index(("node_finished", "end"))


def test_a_code_nodes_process_data_is_an_empty_object(server: RunningServer) -> None:
    with client_for(server, import_app(server.settings, CODE).api_key) as client:
        events = run(client, {})
    finished = node_events(events, "code")["node_finished"]["data"]
    assert finished["status"] == "succeeded" and finished["process_data"] == {}


def test_a_file_url_fails_the_http_node_with_an_only_http_message(server: RunningServer) -> None:
    with client_for(server, import_app(server.settings, FILE_URL).api_key) as client:
        events = run(client, {})
    finished = node_events(events, "fetch")["node_finished"]["data"]
    assert finished["status"] == "failed"
    assert finished["error"] == "url should start with http:// or https://"
    assert "resolve host" not in events[-1]["data"]["error"]


@pytest.fixture(scope="module")
def small_payload_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings: Settings = make_settings(
        tmp_path_factory.mktemp("payload-home"), database_url, workflow=WorkflowSettings(node_payload_max_kb=4)
    )
    server = start_server(settings)
    yield server
    server.stop()


def test_large_node_payloads_are_cut_and_flagged_but_outputs_stay_whole(small_payload_server: RunningServer) -> None:
    text = "ab" * 20_000  # 40 kB, over the 4 kB node payload limit
    with client_for(small_payload_server, import_app(small_payload_server.settings, AGGREGATED).api_key) as client:
        events = run(client, {"text": text})
        shout = node_events(events, "shout")["node_finished"]["data"]
        assert shout["inputs_truncated"] and shout["outputs_truncated"] and not shout["process_data_truncated"]
        assert len(str(shout["outputs"]["output"])) < len(text) and shout["outputs"]["output"].endswith("...")
        finished = events[-1]
        assert finished["event"] == "workflow_finished" and finished["data"]["outputs"]["result"] == text.upper()
        run_id = finished["workflow_run_id"]
        stored = client.get(f"/workflows/run/{run_id}").json()
    assert json.loads(stored["outputs"])["result"] == text.upper() and json.loads(stored["inputs"])["text"] == text
    engine = sa.create_engine(small_payload_server.settings.resolved_database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT outputs FROM node_executions WHERE workflow_run_id = :run AND node_id = 'shout'"),
                {"run": run_id},
            ).one()
    finally:
        engine.dispose()
    outputs = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    assert outputs == shout["outputs"]  # the stored trace is the cut one, not a third whole copy


def test_small_node_payloads_are_not_flagged(server: RunningServer) -> None:
    with client_for(server, import_app(server.settings, AGGREGATED).api_key) as client:
        events = run(client, {"text": "small"})
    for event in events:
        if event["event"] == "node_finished":
            data = event["data"]
            assert not (data["inputs_truncated"] or data["process_data_truncated"] or data["outputs_truncated"])

"""End to end: a workflow's python3 code node calls `requests.get`, and kawa's allow-list setting decides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.http_echo import echo_server

CODE = """import requests

def main(url: str) -> dict:
    response = requests.get(url, timeout=5)
    return {"status": response.status_code, "body": response.text}
"""


def workflow() -> dict[str, object]:
    edge = {"type": "custom", "sourceHandle": "source", "targetHandle": "target"}
    return {
        "version": "0.6.0",
        "kind": "app",
        "app": {"name": "fetch", "mode": "workflow"},
        "workflow": {
            "graph": {
                "edges": [
                    {**edge, "id": "e1", "source": "start", "target": "fetch"},
                    {**edge, "id": "e2", "source": "fetch", "target": "end"},
                ],
                "nodes": [
                    {"id": "start", "data": {"type": "start", "title": "Start", "variables": [
                        {"variable": "url", "label": "url", "type": "text-input", "required": True, "max_length": 256}
                    ]}},
                    {"id": "fetch", "data": {
                        "type": "code", "title": "Fetch", "code_language": "python3", "code": CODE,
                        "variables": [{"variable": "url", "value_selector": ["start", "url"]}],
                        "outputs": {"status": {"type": "number"}, "body": {"type": "string"}},
                    }},
                    {"id": "end", "data": {"type": "end", "title": "End", "outputs": [
                        {"variable": "status", "value_selector": ["fetch", "status"]},
                        {"variable": "body", "value_selector": ["fetch", "body"]},
                    ]}},
                ],
            },
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def ports() -> Iterator[tuple[int, int]]:
    with echo_server() as allowed, echo_server() as other:
        yield allowed, other


def kawa_run(tmp_path: Path, url: str, allowed_targets: list[str]) -> dict[str, object]:
    dsl = tmp_path / "fetch.yml"
    dsl.write_text(yaml.safe_dump(workflow()))
    env = {
        **os.environ,
        "KAWA_HOME": str(tmp_path / "home"),
        "KAWA_HTTP_REQUEST__ALLOWED_TARGETS": json.dumps(allowed_targets),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kawa.cli", "run", str(dsl), "-i", f"url={url}", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.stdout, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_an_allow_listed_loopback_server_answers_the_code_node(tmp_path: Path, ports: tuple[int, int]) -> None:
    allowed, _ = ports
    result = kawa_run(tmp_path, f"http://127.0.0.1:{allowed}/from-code", [f"127.0.0.1:{allowed}"])
    assert result["status"] == "succeeded", result
    outputs = result["outputs"]
    assert isinstance(outputs, dict)
    assert outputs["status"] == 200
    assert json.loads(outputs["body"])["path"] == "/from-code"


def test_a_server_off_the_allow_list_is_refused_by_the_proxy(tmp_path: Path, ports: tuple[int, int]) -> None:
    allowed, other = ports
    result = kawa_run(tmp_path, f"http://127.0.0.1:{other}/secret", [f"127.0.0.1:{allowed}"])
    outputs = result["outputs"]
    assert isinstance(outputs, dict)
    assert outputs["status"] == 403
    assert "loopback addresses are blocked to prevent SSRF" in str(outputs["body"])

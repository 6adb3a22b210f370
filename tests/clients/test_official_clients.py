"""The official Dify SDKs, pointed at kawa, work unchanged: the PyPI `dify-client` and the npm `dify-client`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dify_client import ChatClient, CompletionClient, DifyClient
from support.apps import ImportedApp, import_app
from support.server import RunningServer

NODE_DIR = Path(__file__).resolve().parent / "node"


@pytest.fixture(scope="module")
def chatflow(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chatflow-support.yml")


def _point(client: DifyClient, server: RunningServer) -> DifyClient:
    client.base_url = server.api_url
    return client


def test_python_sdk_chat_and_conversations(server: RunningServer, chatflow: ImportedApp) -> None:
    chat = _point(ChatClient(chatflow.api_key), server)
    assert isinstance(chat, ChatClient)
    first = chat.create_chat_message({}, "hello", "py-user")
    first.raise_for_status()
    cid = first.json()["conversation_id"]
    second = chat.create_chat_message({}, "upgrade please", "py-user", conversation_id=cid).json()
    assert second["answer"] == "You are now on the pro tier."
    streamed = chat.create_chat_message({}, "again", "py-user", response_mode="streaming", conversation_id=cid)
    lines = [line for line in streamed.iter_lines() if line.startswith(b"data: ")]
    assert json.loads(lines[-1][6:])["event"] == "message_end"
    messages = chat.get_conversation_messages("py-user", conversation_id=cid).json()["data"]
    assert [m["query"] for m in messages] == ["hello", "upgrade please", "again"]
    assert chat.get_conversations("py-user").json()["data"][0]["id"] == cid
    assert chat.rename_conversation(cid, "From Python", "py-user").json()["name"] == "From Python"
    assert chat.message_feedback(second["message_id"], "like", "py-user").json() == {"result": "success"}
    parameters = chat.get_application_parameters("py-user").json()
    assert parameters["opening_statement"] == "Hello! How can I help?"


def test_python_sdk_file_upload(server: RunningServer, hello_app: ImportedApp) -> None:
    client = _point(DifyClient(hello_app.api_key), server)
    response = client.file_upload("py-user", {"file": ("notes.txt", b"some notes", "text/plain")})
    assert response.status_code == 201 and response.json()["name"] == "notes.txt"


def test_python_sdk_completion_route_refuses_a_workflow_app(server: RunningServer, hello_app: ImportedApp) -> None:
    client = _point(CompletionClient(hello_app.api_key), server)
    response = client.create_completion_message({}, "blocking", "py-user")
    assert response.status_code == 400 and response.json()["code"] == "app_unavailable"


def test_node_sdk_workflow_and_chat(server: RunningServer, hello_app: ImportedApp, chatflow: ImportedApp) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("\n!!! SKIPPING the Node SDK test: node/npm not installed", file=sys.stderr)
        pytest.skip("node/npm not installed")
    if not (NODE_DIR / "node_modules" / "dify-client").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True, timeout=300)
    result = subprocess.run(
        ["node", "drive.mjs", server.api_url, hello_app.api_key, chatflow.api_key],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["parameters"]["user_input_form"][0]["text-input"]["variable"] == "name"
    assert out["blocking"]["data"]["outputs"] == {"greeting": "Hello, Node! Your name has 4 letters."}
    assert out["streamed"][0] == "workflow_started" and out["streamed"][-1] == "workflow_finished"
    assert out["answers"] == ["Noted (1 questions so far). You asked: hello from node", "You are now on the pro tier."]
    assert out["messages"] == ["hello from node", "please upgrade"]
    assert out["renamed"] == "From Node"
    assert out["feedback"] == {"result": "success"}
    assert out["deleted"] == 204
    assert out["error"] == {
        "status": 400,
        "body": {"code": "invalid_param", "message": "query is required", "status": 400},
    }

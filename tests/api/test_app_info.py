"""`/info`, `/parameters`, `/site` and `/meta`, derived from the imported DSL."""

from __future__ import annotations

import httpx
from support.apps import import_app
from support.clients import client_for
from support.server import RunningServer


def test_info_describes_the_app(hello_client: httpx.Client) -> None:
    assert hello_client.get("/info").json() == {
        "name": "Hello kawa",
        "description": "Greets a name and counts its letters. Runs offline, no model needed.",
        "tags": [],
        "mode": "workflow",
        "author_name": "",
    }


def test_parameters_list_the_start_variables(hello_client: httpx.Client) -> None:
    body = hello_client.get("/parameters").json()
    assert body["user_input_form"] == [
        {
            "text-input": {
                "variable": "name",
                "label": "Your name",
                "type": "text-input",
                "max_length": 48,
                "required": True,
                "hide": False,
                "options": [],
                "default": "",
            }
        }
    ]
    assert body["system_parameters"] == {
        "image_file_size_limit": 10,
        "video_file_size_limit": 100,
        "audio_file_size_limit": 50,
        "file_size_limit": 15,
        "workflow_file_upload_limit": 10,
    }
    assert body["speech_to_text"] == {"enabled": False}
    assert body["file_upload"] == {"enabled": False}


def test_parameters_of_a_chat_app_carry_its_features(server: RunningServer) -> None:
    app = import_app(server.settings, "chat-assistant.yml")
    with client_for(server, app.api_key) as client:
        body = client.get("/parameters").json()
    assert body["opening_statement"] == "Hi! I can answer questions about the weather."
    assert body["suggested_questions"] == ["Will it rain tomorrow?", "Is it windy?"]
    assert body["suggested_questions_after_answer"] == {"enabled": True}
    assert body["text_to_speech"]["enabled"] is True
    assert body["retriever_resource"] == {"enabled": True}
    assert body["annotation_reply"] == {"enabled": False}
    form = body["user_input_form"]
    assert [next(iter(item)) for item in form] == ["select", "paragraph"]
    assert form[0]["select"]["options"] == ["celsius", "fahrenheit"]


def test_parameters_of_file_inputs_list_allowed_types(server: RunningServer) -> None:
    app = import_app(server.settings, "workflow-files.yml")
    with client_for(server, app.api_key) as client:
        form = client.get("/parameters").json()["user_input_form"]
    kinds = {next(iter(item)): next(iter(item.values())) for item in form}
    assert kinds["file-list"]["allowed_file_types"] == ["document"]
    assert kinds["file-list"]["max_length"] == 5
    assert kinds["number"]["required"] is False


def test_site_defaults_come_from_the_app(hello_client: httpx.Client) -> None:
    site = hello_client.get("/site").json()
    assert site["title"] == "Hello kawa"
    assert site["icon"] == "👋"
    assert site["icon_background"] == "#FFEAD5"
    assert site["default_language"] == "en-US"
    assert site["show_workflow_steps"] is True


def test_meta_lists_tool_icons_of_agent_tools(server: RunningServer) -> None:
    app = import_app(server.settings, "agent-tools.yml")
    with client_for(server, app.api_key) as client:
        icons = client.get("/meta").json()["tool_icons"]
    assert set(icons) == {"time", "math"}


def test_meta_of_an_app_without_tools_is_empty(hello_client: httpx.Client) -> None:
    assert hello_client.get("/meta").json() == {"tool_icons": {}}

"""`/parameters`, `/site` and `/meta` views of an app, derived from its published DSL document."""

from __future__ import annotations

from typing import Any

from kawa.dsl.document import app_features, app_input_variables
from kawa.dsl.variables import to_user_input_form
from kawa.settings import UploadSettings
from kawa.store.tables import App

_DEFAULT_FILE_UPLOAD: dict[str, Any] = {
    "image": {"enabled": False, "number_limits": 3, "detail": "high", "transfer_methods": ["remote_url", "local_file"]}
}


def _enabled_block(features: dict[str, Any], key: str) -> dict[str, Any]:
    value = features.get(key)
    return dict(value) if isinstance(value, dict) else {"enabled": False}


def app_parameters(document: dict[str, Any], upload: UploadSettings) -> dict[str, Any]:
    features = app_features(document)
    tts = _enabled_block(features, "text_to_speech")
    sensitive = features.get("sensitive_word_avoidance")
    return {
        "opening_statement": features.get("opening_statement") or "",
        "suggested_questions": list(features.get("suggested_questions") or []),
        "suggested_questions_after_answer": _enabled_block(features, "suggested_questions_after_answer"),
        "speech_to_text": _enabled_block(features, "speech_to_text"),
        "text_to_speech": tts,
        "retriever_resource": _enabled_block(features, "retriever_resource"),
        "annotation_reply": _enabled_block(features, "annotation_reply"),
        "more_like_this": _enabled_block(features, "more_like_this"),
        "user_input_form": to_user_input_form(app_input_variables(document)),
        "sensitive_word_avoidance": sensitive
        if isinstance(sensitive, dict)
        else {"enabled": False, "type": "", "configs": []},
        "file_upload": features.get("file_upload") or _DEFAULT_FILE_UPLOAD,
        "system_parameters": {
            "image_file_size_limit": upload.image_mb,
            "video_file_size_limit": upload.video_mb,
            "audio_file_size_limit": upload.audio_mb,
            "file_size_limit": upload.document_mb,
            "workflow_file_upload_limit": upload.workflow_file_upload_limit,
        },
    }


def app_info(app: App) -> dict[str, Any]:
    return {
        "name": app.name,
        "description": app.description,
        "tags": list(app.tags or []),
        "mode": app.mode,
        "author_name": app.author_name,
    }


def app_site(app: App, document: dict[str, Any]) -> dict[str, Any]:
    """WebApp settings: a `site` mapping in the DSL (kawa extension) over defaults taken from the app."""
    site = document.get("site") if isinstance(document.get("site"), dict) else {}
    assert isinstance(site, dict)
    defaults: dict[str, Any] = {
        "title": app.name,
        "chat_color_theme": None,
        "chat_color_theme_inverted": False,
        "icon_type": app.icon_type or "emoji",
        "icon": app.icon,
        "icon_background": app.icon_background,
        "icon_url": None,
        "description": app.description,
        "copyright": None,
        "privacy_policy": None,
        "input_placeholder": None,
        "custom_disclaimer": "",
        "default_language": "en-US",
        "show_workflow_steps": True,
        "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
    }
    return {key: site.get(key, value) for key, value in defaults.items()}


def tool_icons(document: dict[str, Any]) -> dict[str, Any]:
    """Icons of the tools an app uses, keyed by provider id: from tool nodes and agent tools in the DSL."""
    icons: dict[str, Any] = {}
    nodes = (document.get("workflow") or {}).get("graph", {}).get("nodes", [])
    tools = [n.get("data") or {} for n in nodes if (n.get("data") or {}).get("type") == "tool"]
    tools += list(((document.get("model_config") or {}).get("agent_mode") or {}).get("tools") or [])
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        provider = tool.get("provider_id") or tool.get("provider_name")
        if provider:
            icons[str(provider)] = tool.get("provider_icon") or {"background": "#252525", "content": "🛠️"}
    return icons

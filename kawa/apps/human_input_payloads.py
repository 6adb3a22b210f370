"""Wire shapes of Human Input: the stream events of a pause and a resume, and the form a client fetches (Dify's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kawa.apps.event_payloads import jsonable
from kawa.store.durable_tables import HumanInputForm
from kawa.workflow import events as ev

Payload = dict[str, Any]


def form_definition(form: HumanInputForm) -> Payload:
    """`GET /form/human_input/{token}`: the form as the person should see it."""
    definition = form.definition
    return {
        "form_content": definition["form_content"],
        "inputs": definition["inputs"],
        "resolved_default_values": definition["resolved_default_values"],
        "user_actions": definition["user_actions"],
        "expiration_time": int(form.expiration_time),
    }


def human_input_required_data(form: HumanInputForm) -> Payload:
    definition = form.definition
    return {
        "form_id": form.id,
        "node_id": form.node_id,
        "node_title": definition["node_title"],
        "form_content": definition["form_content"],
        "inputs": definition["inputs"],
        "actions": definition["user_actions"],
        "display_in_ui": True,
        "form_token": form.token,
        "resolved_default_values": definition["resolved_default_values"],
        "expiration_time": int(form.expiration_time),
    }


def workflow_paused_data(run_id: str, event: ev.WorkflowPaused, forms: Sequence[HumanInputForm]) -> Payload:
    return {
        "workflow_run_id": run_id,
        "paused_nodes": [form.node_id for form in forms],
        "outputs": jsonable(event.outputs),
        "reasons": [{"type": "human_input", "form_id": form.id, "node_id": form.node_id} for form in forms],
        "status": "paused",
        "created_at": int(event.created_at),
        "elapsed_time": event.elapsed_time,
        "total_tokens": event.total_tokens,
        "total_steps": event.total_steps,
    }


def form_filled_data(event: ev.HumanInputFormFilled) -> Payload:
    return {
        "node_id": event.node_id,
        "node_title": event.node_title,
        "rendered_content": event.rendered_content,
        "action_id": event.action_id,
        "action_text": event.action_text,
        "submitted_data": jsonable(event.submitted_data),
    }


def form_timeout_data(event: ev.HumanInputFormTimeout) -> Payload:
    return {"node_id": event.node_id, "node_title": event.node_title, "expiration_time": int(event.expiration_time)}


def human_input_event(event: ev.EngineEvent) -> tuple[str, Payload] | None:
    """(event name, data) of the Human Input events a resumed run emits; None for any other event."""
    if isinstance(event, ev.HumanInputFormFilled):
        return "human_input_form_filled", form_filled_data(event)
    if isinstance(event, ev.HumanInputFormTimeout):
        return "human_input_form_timeout", form_timeout_data(event)
    return None


def extra_content(form: HumanInputForm) -> Payload:
    """One entry of a chat message's `extra_contents`: the form's definition and, once answered, its submission."""
    definition = form.definition
    submitted = form.status == "submitted"
    submission: Mapping[str, Any] | None = None
    if submitted:
        actions = {a.get("id"): a.get("title") for a in definition["user_actions"]}
        submission = {
            "node_id": form.node_id,
            "node_title": definition["node_title"],
            "rendered_content": definition.get("rendered_content", definition["form_content"]),
            "action_id": form.action_id,
            "action_text": actions.get(form.action_id, form.action_id),
        }
    return {
        "workflow_run_id": form.workflow_run_id,
        "submitted": submitted,
        "type": "human_input",
        "form_definition": {**human_input_required_data(form), "form_token": None if submitted else form.token},
        "form_submission_data": submission,
    }

"""Human Input through a real server (SQLite and PostgreSQL): the paused run's events, the form's GET and POST, and
the resumed run's events are validated against Dify's documented shapes (kawa.api.shapes)."""

from __future__ import annotations

from durable.durable_support import approval_dsl
from support.apps import import_app
from support.server import RunningServer

from contract.shape_recorder import ShapeRecorder

ANSWER = {"inputs": {"comment": "Looks good", "priority": "high"}, "action": "approve", "user": "reviewer"}


def test_human_input_operations_and_events_have_difys_shape(server: RunningServer) -> None:
    recorder = ShapeRecorder()
    app = import_app(server.settings, approval_dsl(timeout_hours=1))
    with recorder.client(server.api_url, app.api_key) as client:
        body = {"inputs": {"name": "Ada"}, "response_mode": "streaming", "user": "reviewer"}
        paused = recorder.stream(client, "POST", "/workflows/run", "workflow", json=body)
        required = next(e for e in paused if e["event"] == "human_input_required")
        token = required["data"]["form_token"]
        client.get(f"/form/human_input/{token}")
        client.post(f"/form/human_input/{token}", json=ANSWER)
        run_id = required["workflow_run_id"]
        recorder.stream(client, "GET", f"/workflow/{run_id}/events", "workflow", params={"user": "reviewer"})
    assert {("GET", "/form/human_input/{form_token}"), ("POST", "/form/human_input/{form_token}")} <= set(
        recorder.operations
    )
    assert not recorder.errors, recorder.errors
    for name in ("human_input_required", "workflow_paused", "human_input_form_filled", "workflow_finished"):
        assert recorder.events[name], (name, recorder.events)
    print(f"\ncontract: human input, {recorder.events.total()} events of {len(recorder.events)} types")

"""A workflow pauses at a Human Input node, a client answers its form and follows the resumed run to the end,
on SQLite and PostgreSQL (the approval app: draft → review → approved | rejected | late)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from durable_support import (
    Served,
    contiguous,
    import_approval,
    read_stream,
    reattach,
    start_paused_run,
    wait_for_status,
)
from support.clients import client_for, make_settings
from support.server import start_server

ANSWER = {"inputs": {"comment": "Looks good", "priority": "high"}, "action": "approve", "user": "reviewer"}


def test_a_run_pauses_with_the_form_and_resumes_to_the_end_after_a_submission(served: Served) -> None:
    client = served.client
    paused = start_paused_run(client)
    assert paused.names()[-2:] == ["human_input_required", "workflow_paused"]
    assert contiguous(paused.ids) and paused.ids[0] == 1
    required = paused.first("human_input_required")
    run_id = required["workflow_run_id"]
    data = required["data"]
    assert data["node_id"] == "review" and data["node_title"] == "Review"
    assert (
        data["form_content"]
        == "Please review the draft:\n\nDear Ada, welcome aboard.\n\nComment: {{#$output.comment#}}"
    )
    assert [a["id"] for a in data["actions"]] == ["approve", "reject"]
    assert data["resolved_default_values"] == {"comment": "Dear Ada, welcome aboard."}
    assert data["expiration_time"] > time.time() + 3500
    assert paused.first("workflow_paused")["data"]["paused_nodes"] == ["review"]

    detail = client.get(f"/workflows/run/{run_id}").json()
    assert detail["status"] == "paused"
    logs = client.get("/workflows/logs").json()["data"]
    assert [row["workflow_run"]["status"] for row in logs] == ["paused"]

    form = client.get(f"/form/human_input/{data['form_token']}").json()
    assert form["form_content"] == data["form_content"]
    assert [i["output_variable_name"] for i in form["inputs"]] == ["comment", "priority"]
    assert form["user_actions"][0] == {"id": "approve", "title": "Approve", "button_style": "primary"}
    assert form["expiration_time"] == data["expiration_time"]

    submitted = client.post(f"/form/human_input/{data['form_token']}", json=ANSWER)
    assert submitted.status_code == 200 and submitted.json() == {}

    # The client follows on from the last event it saw (the run may be over by now: the log has it all).
    resumed = reattach(client, run_id, "reviewer", last_event_id=paused.ids[-1])
    names = resumed.names()
    assert names[0] == "workflow_started", (resumed.ids, resumed.events)
    assert names[0] == "workflow_started" and resumed.events[0]["data"].get("reason") == "resumption"
    assert names[1] == "human_input_form_filled"
    filled = resumed.events[1]["data"]
    assert filled["action_id"] == "approve" and filled["action_text"] == "Approve"
    assert filled["rendered_content"].endswith("Comment: Looks good")
    assert filled["submitted_data"] == {"comment": "Looks good", "priority": "high"}
    assert names[-1] == "workflow_finished"
    finished = resumed.events[-1]["data"]
    assert finished["status"] == "succeeded"
    assert finished["outputs"] == {"result": "Approve: Looks good (high)"}
    # Ids continue the paused stream's: one log per run, across the pause.
    assert contiguous(paused.ids + resumed.ids)
    assert client.get(f"/workflows/run/{run_id}").json()["status"] == "succeeded"
    # A finished run answers a single workflow_finished.
    again = reattach(client, run_id, "reviewer")
    assert again.names() == ["workflow_finished"] and again.events[0]["data"]["outputs"] == finished["outputs"]


def test_two_concurrent_submissions_resume_the_run_once(served: Served) -> None:
    client = served.client
    paused = start_paused_run(client)
    token = paused.first("human_input_required")["data"]["form_token"]
    run_id = paused.first("workflow_paused")["workflow_run_id"]
    answers = [ANSWER, {**ANSWER, "action": "reject"}]
    results: list[tuple[dict[str, Any], httpx.Response]] = []
    barrier = threading.Barrier(2)

    def submit(body: dict[str, Any]) -> None:
        with client_for(served.server, served.app.api_key) as own:
            barrier.wait()
            results.append((body, own.post(f"/form/human_input/{token}", json=body)))

    threads = [threading.Thread(target=submit, args=(body,)) for body in answers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for _, r in results) == [200, 412]
    loser = next(r for _, r in results if r.status_code == 412).json()
    assert loser["code"] == "human_input_form_submitted" and loser["status"] == 412
    detail = wait_for_status(client, run_id, "succeeded")
    assert detail["status"] == "succeeded"
    winner = next(body for body, r in results if r.status_code == 200)
    expected = "Approve: Looks good (high)" if winner["action"] == "approve" else "Changes requested: Looks good"
    assert detail["outputs"] == f'{{"result": "{expected}"}}'
    # Exactly one resumption was logged.
    events = reattach(client, run_id, "reviewer", last_event_id=0, continue_on_pause="true")
    assert events.names().count("human_input_form_filled") == 1
    assert events.names().count("workflow_paused") == 1 and events.names()[-1] == "workflow_finished"
    assert contiguous(events.ids)
    again = client.post(f"/form/human_input/{token}", json=ANSWER)
    assert again.status_code == 412 and again.json()["code"] == "human_input_form_submitted"


def test_an_expired_form_follows_the_timeout_branch_without_anyone_polling(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "home", database_url)
    app = import_approval(settings, timeout_hours=0)  # expires as it is shown: the server's timer must act
    server = start_server(settings)
    try:
        with client_for(server, app.api_key) as client:
            paused = start_paused_run(client)
            run_id = paused.first("workflow_paused")["workflow_run_id"]
            token = paused.first("human_input_required")["data"]["form_token"]
            detail = wait_for_status(client, run_id, "succeeded")
            assert detail["outputs"] == '{"result": "Nobody answered in time."}'
            late = client.post(f"/form/human_input/{token}", json=ANSWER)
            assert late.status_code == 412 and late.json()["code"] == "human_input_form_expired"
            assert client.get(f"/form/human_input/{token}").status_code == 412
            events = reattach(client, run_id, "reviewer", last_event_id=paused.ids[-1])
            assert events.names()[:2] == ["workflow_started", "human_input_form_timeout"]
            assert events.events[1]["data"]["node_id"] == "review"
            assert events.names()[-1] == "workflow_finished"
    finally:
        server.stop()


def test_a_dropped_stream_reattaches_with_last_event_id_without_gap_or_duplicate(served: Served) -> None:
    client = served.client
    body = {"inputs": {"name": "Ada"}, "response_mode": "streaming", "user": "reviewer"}
    with client.stream("POST", "/workflows/run", json=body) as response:
        first = read_stream(response, limit=3)  # then the client drops the connection
    run_id = first.events[0]["workflow_run_id"]
    rest = reattach(client, run_id, "reviewer", last_event_id=first.ids[-1])
    assert contiguous(first.ids + rest.ids)
    assert rest.names()[-1] == "workflow_paused"
    # Drop the resumed stream too, after its first event, and pick it up again.
    token = rest.first("human_input_required")["data"]["form_token"]
    assert client.post(f"/form/human_input/{token}", json=ANSWER).status_code == 200
    last_seen = rest.ids[-1]
    assert last_seen is not None
    with client.stream(
        "GET",
        f"/workflow/{run_id}/events",
        params={"user": "reviewer"},
        headers={"Last-Event-ID": str(last_seen)},
    ) as response:
        head = read_stream(response, limit=1)
    tail = reattach(client, run_id, "reviewer", last_event_id=head.ids[-1])
    assert contiguous(first.ids + rest.ids + head.ids + tail.ids)
    assert tail.names()[-1] == "workflow_finished"


def test_another_end_user_or_app_gets_404(served: Served, tmp_path: Path) -> None:
    client = served.client
    paused = start_paused_run(client)
    run_id = paused.first("workflow_paused")["workflow_run_id"]
    token = paused.first("human_input_required")["data"]["form_token"]
    other_user = client.get(f"/workflow/{run_id}/events", params={"user": "someone-else"})
    assert other_user.status_code == 404 and other_user.json()["code"] == "not_found"
    unknown = client.get("/form/human_input/not-a-token")
    assert unknown.status_code == 404 and unknown.json() == {
        "code": "not_found",
        "message": "Form not found",
        "status": 404,
    }
    # The same token through another app's key is not found either.
    other_app = import_approval(served.server.settings)
    with client_for(served.server, other_app.api_key) as stranger:
        assert stranger.get(f"/form/human_input/{token}").status_code == 404
        assert stranger.post(f"/form/human_input/{token}", json=ANSWER).status_code == 404
        assert stranger.get(f"/workflow/{run_id}/events", params={"user": "reviewer"}).status_code == 404
    assert client.get(f"/form/human_input/{token}").status_code == 200  # still waiting


def test_invalid_answers_are_refused_and_leave_the_form_open(served: Served) -> None:
    client = served.client
    paused = start_paused_run(client)
    token = paused.first("human_input_required")["data"]["form_token"]
    cases = [
        ({**ANSWER, "action": "publish"}, "Invalid action: publish"),
        ({**ANSWER, "inputs": {"comment": "x"}}, "Missing required inputs: priority"),
        (
            {**ANSWER, "inputs": {"comment": "x", "priority": "urgent"}},
            "Invalid value for select input 'priority': urgent",
        ),
        (
            {**ANSWER, "inputs": {"comment": 3, "priority": "low"}},
            "Invalid value for paragraph input 'comment': expected string",
        ),
    ]
    for body, message in cases:
        refused = client.post(f"/form/human_input/{token}", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"code": "invalid_form_data", "message": message, "status": 400}
    assert client.post(f"/form/human_input/{token}", json=ANSWER).status_code == 200


def test_blocking_run_answers_paused(served: Served) -> None:
    blocking = served.client.post(
        "/workflows/run", json={"inputs": {"name": "Ada"}, "response_mode": "blocking", "user": "reviewer"}
    )
    assert blocking.status_code == 200
    data = blocking.json()["data"]
    assert data["status"] == "paused"
    assert wait_for_status(served.client, data["id"], "paused")["status"] == "paused"


def test_a_paused_run_resumes_on_another_server_of_the_same_database(served: Served) -> None:
    """Two servers in one database (the second has never seen the run): submit on the second, follow on both."""
    client = served.client
    paused = start_paused_run(client)
    run_id = paused.first("workflow_paused")["workflow_run_id"]
    token = paused.first("human_input_required")["data"]["form_token"]
    first = served.server.settings
    other = start_server(make_settings(first.home, str(first.database_url)))
    try:
        with client_for(other, served.app.api_key) as second:
            assert second.post(f"/form/human_input/{token}", json=ANSWER).status_code == 200
            on_first = reattach(client, run_id, "reviewer", last_event_id=paused.ids[-1])
            on_second = reattach(second, run_id, "reviewer", last_event_id=paused.ids[-1])
    finally:
        other.stop()
    assert on_first.events == on_second.events
    assert on_first.names()[-1] == "workflow_finished"
    assert on_first.events[-1]["data"]["outputs"] == {"result": "Approve: Looks good (high)"}


def test_reattaching_to_a_paused_run_replays_its_forms_and_a_state_snapshot(served: Served) -> None:
    client = served.client
    paused = start_paused_run(client)
    run_id = paused.first("workflow_paused")["workflow_run_id"]
    # Without Last-Event-ID a paused run replays its last segment: the forms again, then workflow_paused.
    again = reattach(client, run_id, "reviewer")
    assert again.events == paused.events and again.ids == paused.ids
    token = paused.first("human_input_required")["data"]["form_token"]
    assert client.post(f"/form/human_input/{token}", json=ANSWER).status_code == 200
    wait_for_status(client, run_id, "succeeded")
    # From the resumption on, with the nodes that ran before it first.
    started, paused_at = paused.ids[0], paused.ids[-1]
    assert started is not None and paused_at is not None
    with_state = reattach(client, run_id, "reviewer", last_event_id=paused_at, include_state_snapshot="true")
    names = with_state.names()
    replayed = names[: names.index("workflow_started")]
    # start and draft ran; review started and waited (it finishes after the resumption)
    assert replayed == ["node_started", "node_finished", "node_started", "node_finished", "node_started"]
    assert names[-1] == "workflow_finished"

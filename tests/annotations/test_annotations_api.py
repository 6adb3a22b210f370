"""`/apps/annotations` and `/apps/annotation-reply` as Dify documents them, through a real server (SQLite and
PostgreSQL) with the real embedded embedding model."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from support.apps import ImportedApp, import_app
from support.clients import client_for
from support.server import RunningServer

EMBEDDED = {"embedding_provider_name": "embedded", "embedding_model_name": "multilingual-e5-small"}


@pytest.fixture(scope="module")
def app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chat-assistant.yml")


@pytest.fixture(scope="module")
def other_app(server: RunningServer) -> ImportedApp:
    return import_app(server.settings, "chat-assistant.yml")


@pytest.fixture
def client(server: RunningServer, app: ImportedApp) -> Iterator[httpx.Client]:
    """The app's client, the app without annotations and with reply off (each test starts from there)."""
    with client_for(server, app.api_key) as client:
        clear(client)
        yield client


def clear(client: httpx.Client) -> None:
    while listed := client.get("/apps/annotations", params={"limit": 100}).json()["data"]:
        for annotation in listed:
            assert client.delete(f"/apps/annotations/{annotation['id']}").status_code == 204
    stopped = client.post("/apps/annotation-reply/disable", json={"score_threshold": 0.9, **EMBEDDED}).json()
    assert wait_job(client, "disable", stopped["job_id"])["job_status"] == "completed"


def create(client: httpx.Client, question: str, answer: str) -> dict:
    response = client.post("/apps/annotations", json={"question": question, "answer": answer})
    assert response.status_code == 201, response.text
    return response.json()


def wait_job(client: httpx.Client, action: str, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/apps/annotation-reply/{action}/status/{job_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["job_status"] in ("completed", "error") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_create_answers_201_with_the_annotation(client: httpx.Client) -> None:
    before = int(time.time())
    body = create(client, "What is kawa?", "A Dify-compatible server.")
    assert set(body) == {"id", "question", "answer", "hit_count", "created_at"}
    assert (
        uuid.UUID(body["id"]) and body["question"] == "What is kawa?" and body["answer"] == "A Dify-compatible server."
    )
    assert body["hit_count"] == 0 and isinstance(body["created_at"], int) and body["created_at"] >= before - 1


def test_list_pages_newest_first_with_total_and_has_more(client: httpx.Client) -> None:
    ids = [create(client, f"question {i}", f"answer {i}")["id"] for i in range(5)]
    first = client.get("/apps/annotations", params={"page": 1, "limit": 2}).json()
    assert first["total"] == 5 and first["limit"] == 2 and first["page"] == 1 and first["has_more"] is True
    third = client.get("/apps/annotations", params={"page": 3, "limit": 2}).json()
    assert third["has_more"] is False and len(third["data"]) == 1
    listed = [
        a["id"]
        for p in (1, 2, 3)
        for a in client.get("/apps/annotations", params={"page": p, "limit": 2}).json()["data"]
    ]
    assert listed == list(reversed(ids))


def test_list_filters_by_keyword_in_question_or_answer(client: httpx.Client) -> None:
    create(client, "How do refunds work?", "Within 30 days.")
    create(client, "Shipping time?", "Refund policy is separate; shipping takes 3 days.")
    create(client, "Opening hours?", "9 to 5.")
    found = client.get("/apps/annotations", params={"keyword": "REFUND"}).json()
    assert found["total"] == 2 and {a["question"] for a in found["data"]} == {"How do refunds work?", "Shipping time?"}
    assert client.get("/apps/annotations", params={"keyword": "100%"}).json()["total"] == 0  # % is literal


def test_limit_above_100_is_capped(client: httpx.Client) -> None:
    assert client.get("/apps/annotations", params={"limit": 1000}).json()["limit"] == 100


def test_annotations_are_the_apps_own(server: RunningServer, client: httpx.Client, other_app: ImportedApp) -> None:
    mine = create(client, "Mine?", "Yes.")
    with client_for(server, other_app.api_key) as stranger:
        assert stranger.get("/apps/annotations").json()["total"] == 0
        response = stranger.put(f"/apps/annotations/{mine['id']}", json={"question": "x", "answer": "y"})
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert stranger.delete(f"/apps/annotations/{mine['id']}").status_code == 404


def test_update_changes_the_pair(client: httpx.Client) -> None:
    created = create(client, "Old question?", "Old answer.")
    response = client.put(f"/apps/annotations/{created['id']}", json={"question": "New question?", "answer": "New."})
    assert response.status_code == 200
    assert response.json() == {**created, "question": "New question?", "answer": "New."}


def test_update_of_an_unknown_annotation_is_404(client: httpx.Client) -> None:
    for annotation_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = client.put(f"/apps/annotations/{annotation_id}", json={"question": "q", "answer": "a"})
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Annotation not found", "status": 404}


def test_delete_answers_204_without_a_body_and_removes_it(client: httpx.Client) -> None:
    created = create(client, "Gone soon?", "Yes.")
    response = client.delete(f"/apps/annotations/{created['id']}")
    assert response.status_code == 204 and response.content == b""
    assert client.get("/apps/annotations").json()["total"] == 0
    assert client.delete(f"/apps/annotations/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"question": "q"}, {"answer": "a"}, {"question": 1, "answer": "a"}, {}],
)
def test_create_without_question_or_answer_is_400(client: httpx.Client, body: dict) -> None:
    response = client.post("/apps/annotations", json=body)
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_reply_settings_are_required_even_to_disable(client: httpx.Client) -> None:
    for action in ("enable", "disable"):
        response = client.post(f"/apps/annotation-reply/{action}", json={"score_threshold": 0.9})
        assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_unknown_reply_action_is_400(client: httpx.Client) -> None:
    response = client.post("/apps/annotation-reply/toggle", json={"score_threshold": 0.9, **EMBEDDED})
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_enable_is_a_job_that_completes(client: httpx.Client) -> None:
    create(client, "What is kawa?", "A server.")
    response = client.post("/apps/annotation-reply/enable", json={"score_threshold": 0.9, **EMBEDDED})
    assert response.status_code == 200
    started = response.json()
    assert set(started) == {"job_id", "job_status"} and started["job_status"] in ("waiting", "processing")
    done = wait_job(client, "enable", started["job_id"])
    assert done == {"job_id": started["job_id"], "job_status": "completed", "error_msg": ""}


def test_disable_is_a_job_that_completes(client: httpx.Client) -> None:
    enabled = client.post("/apps/annotation-reply/enable", json={"score_threshold": 0.9, **EMBEDDED}).json()
    assert wait_job(client, "enable", enabled["job_id"])["job_status"] == "completed"
    disabled = client.post("/apps/annotation-reply/disable", json={"score_threshold": 0.9, **EMBEDDED}).json()
    assert wait_job(client, "disable", disabled["job_id"])["job_status"] == "completed"


def test_status_of_an_unknown_job_is_400(client: httpx.Client) -> None:
    response = client.get(f"/apps/annotation-reply/enable/status/{uuid.uuid4()}")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_param", "message": "The job does not exist.", "status": 400}


def test_a_job_is_known_only_under_its_action(client: httpx.Client) -> None:
    started = client.post("/apps/annotation-reply/enable", json={"score_threshold": 0.9, **EMBEDDED}).json()
    assert client.get(f"/apps/annotation-reply/disable/status/{started['job_id']}").status_code == 400
    wait_job(client, "enable", started["job_id"])


def test_non_uuid_job_id_is_404(client: httpx.Client) -> None:
    assert client.get("/apps/annotation-reply/enable/status/nope").status_code == 404


def test_parameters_say_whether_annotation_reply_is_on(client: httpx.Client) -> None:
    assert client.get("/parameters").json()["annotation_reply"]["enabled"] is False
    started = client.post("/apps/annotation-reply/enable", json={"score_threshold": 0.9, **EMBEDDED}).json()
    wait_job(client, "enable", started["job_id"])
    assert client.get("/parameters").json()["annotation_reply"]["enabled"] is True
    stopped = client.post("/apps/annotation-reply/disable", json={"score_threshold": 0.9, **EMBEDDED}).json()
    wait_job(client, "disable", stopped["job_id"])
    assert client.get("/parameters").json()["annotation_reply"]["enabled"] is False

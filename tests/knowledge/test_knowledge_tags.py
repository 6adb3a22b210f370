"""Knowledge tags over HTTP (SQLite and PostgreSQL): create, list, rename, delete, bind, unbind, a dataset's tags,
tags in the dataset views, and the `tag_ids` filter of the dataset list."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from kb_helpers import create_dataset_key, new_dataset
from support.apps import ImportedApp
from support.clients import client_for
from support.server import RunningServer


@pytest.fixture(scope="session")
def dataset_key(server: RunningServer) -> str:
    return create_dataset_key(server.settings)


@pytest.fixture
def kb(server: RunningServer, dataset_key: str) -> Iterator[httpx.Client]:
    with client_for(server, dataset_key) as client:
        yield client


def _name(prefix: str = "tag") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _tag(kb: httpx.Client, name: str) -> dict[str, str]:
    response = kb.post("/datasets/tags", json={"name": name})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["status"] == status and isinstance(body["message"], str)


def test_a_created_tag_answers_in_difys_shape(kb: httpx.Client) -> None:
    name = _name()
    tag = _tag(kb, name)
    assert tag == {"id": tag["id"], "name": name, "type": "knowledge", "binding_count": "0"}
    uuid.UUID(tag["id"])


def test_tags_are_listed_newest_first_with_their_binding_counts(kb: httpx.Client) -> None:
    older, newer = _tag(kb, _name()), _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    assert (
        kb.post("/datasets/tags/binding", json={"tag_ids": [older["id"]], "target_id": dataset["id"]}).status_code
        == 204
    )
    listed = kb.get("/datasets/tags").json()
    ids = [t["id"] for t in listed]
    assert ids.index(newer["id"]) < ids.index(older["id"])
    by_id = {t["id"]: t for t in listed}
    assert by_id[older["id"]]["binding_count"] == "1" and by_id[newer["id"]]["binding_count"] == "0"
    assert by_id[older["id"]]["type"] == "knowledge"


def test_a_duplicate_tag_name_is_refused(kb: httpx.Client) -> None:
    name = _name()
    _tag(kb, name)
    response = kb.post("/datasets/tags", json={"name": name})
    _assert_error(response, 400, "invalid_param")
    assert "same name" in response.json()["message"]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 51}, {"name": 7}, {"name": "a\u0000b"}, []])
def test_a_bad_tag_name_is_invalid_param(kb: httpx.Client, body: object) -> None:
    _assert_error(kb.post("/datasets/tags", json=body), 400, "invalid_param")


def test_a_tag_is_renamed_and_keeps_its_binding_count(kb: httpx.Client) -> None:
    tag = _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    kb.post("/datasets/tags/binding", json={"tag_ids": [tag["id"]], "target_id": dataset["id"]})
    renamed = kb.patch("/datasets/tags", json={"tag_id": tag["id"], "name": "renamed-" + tag["name"]})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {
        "id": tag["id"],
        "name": "renamed-" + tag["name"],
        "type": "knowledge",
        "binding_count": "1",
    }


def test_renaming_to_another_tags_name_or_an_unknown_tag_fails(kb: httpx.Client) -> None:
    first, second = _tag(kb, _name()), _tag(kb, _name())
    _assert_error(
        kb.patch("/datasets/tags", json={"tag_id": second["id"], "name": first["name"]}), 400, "invalid_param"
    )
    _assert_error(kb.patch("/datasets/tags", json={"tag_id": str(uuid.uuid4()), "name": _name()}), 404, "not_found")
    _assert_error(kb.patch("/datasets/tags", json={"name": _name()}), 400, "invalid_param")


def test_deleting_a_tag_unbinds_it_and_keeps_the_dataset(kb: httpx.Client) -> None:
    tag = _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    kb.post("/datasets/tags/binding", json={"tag_ids": [tag["id"]], "target_id": dataset["id"]})
    response = kb.request("DELETE", "/datasets/tags", json={"tag_id": tag["id"]})
    assert response.status_code == 204 and response.content == b""
    assert tag["id"] not in [t["id"] for t in kb.get("/datasets/tags").json()]
    assert kb.get(f"/datasets/{dataset['id']}/tags").json() == {"data": [], "total": 0}
    assert kb.get(f"/datasets/{dataset['id']}").status_code == 200
    _assert_error(kb.request("DELETE", "/datasets/tags", json={"tag_id": tag["id"]}), 404, "not_found")


def test_binding_shows_in_the_datasets_tags_and_views(kb: httpx.Client) -> None:
    first, second = _tag(kb, _name()), _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    body = {"tag_ids": [first["id"], second["id"], first["id"], str(uuid.uuid4())], "target_id": dataset["id"]}
    assert kb.post("/datasets/tags/binding", json=body).status_code == 204
    assert kb.post("/datasets/tags/binding", json=body).status_code == 204  # binding twice changes nothing
    bound = kb.get(f"/datasets/{dataset['id']}/tags").json()
    assert bound["total"] == 2
    assert sorted(bound["data"], key=lambda t: t["name"]) == sorted(
        [{"id": first["id"], "name": first["name"]}, {"id": second["id"], "name": second["name"]}],
        key=lambda t: t["name"],
    )
    detail = kb.get(f"/datasets/{dataset['id']}").json()
    assert {t["id"] for t in detail["tags"]} == {first["id"], second["id"]}
    assert all(t["type"] == "knowledge" for t in detail["tags"])


def test_unbinding_by_list_or_by_the_older_single_id(kb: httpx.Client) -> None:
    first, second = _tag(kb, _name()), _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    kb.post("/datasets/tags/binding", json={"tag_ids": [first["id"], second["id"]], "target_id": dataset["id"]})
    response = kb.post("/datasets/tags/unbinding", json={"tag_ids": [first["id"]], "target_id": dataset["id"]})
    assert response.status_code == 204
    assert [t["id"] for t in kb.get(f"/datasets/{dataset['id']}/tags").json()["data"]] == [second["id"]]
    response = kb.post("/datasets/tags/unbinding", json={"tag_id": second["id"], "target_id": dataset["id"]})
    assert response.status_code == 204
    assert kb.get(f"/datasets/{dataset['id']}/tags").json()["total"] == 0


def test_binding_needs_tags_and_an_existing_dataset(kb: httpx.Client) -> None:
    tag = _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    missing = str(uuid.uuid4())
    _assert_error(
        kb.post("/datasets/tags/binding", json={"tag_ids": [tag["id"]], "target_id": missing}), 404, "not_found"
    )
    _assert_error(
        kb.post("/datasets/tags/unbinding", json={"tag_ids": [tag["id"]], "target_id": missing}), 404, "not_found"
    )
    _assert_error(
        kb.post("/datasets/tags/binding", json={"tag_ids": [], "target_id": dataset["id"]}), 400, "invalid_param"
    )
    _assert_error(kb.post("/datasets/tags/unbinding", json={"target_id": dataset["id"]}), 400, "invalid_param")
    _assert_error(
        kb.post("/datasets/tags/binding", json={"tag_ids": "x", "target_id": dataset["id"]}), 400, "invalid_param"
    )
    _assert_error(kb.get(f"/datasets/{missing}/tags"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/datasets/tags", {"tag_id": "a\u0000", "name": "x"}),
        ("DELETE", "/datasets/tags", {"tag_id": "a\u0000"}),
        ("POST", "/datasets/tags/binding", {"tag_ids": ["a\u0000"], "target_id": "b\u0000"}),
        ("POST", "/datasets/tags/unbinding", {"tag_ids": ["a\u0000"], "target_id": "b\u0000"}),
        ("GET", "/datasets/%00/tags", None),
        ("GET", "/datasets?tag_ids=%00", None),
    ],
)
def test_a_nul_in_an_id_is_a_client_error(kb: httpx.Client, method: str, path: str, body: object) -> None:
    """PostgreSQL text cannot hold NUL: the database's refusal is the client's 400, never a 500."""
    response = kb.request(method, path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:  # SQLite holds NUL, so there an unknown id is simply not found (or no match)
        assert set(response.json()) == {"code", "message", "status"}


def test_a_form_body_is_refused_with_415(kb: httpx.Client) -> None:
    _assert_error(kb.post("/datasets/tags", data={"name": "x"}), 415, "unsupported_media_type")


def test_the_dataset_list_filters_by_tag_ids(kb: httpx.Client) -> None:
    red, blue, unused = _tag(kb, _name("red")), _tag(kb, _name("blue")), _tag(kb, _name("unused"))
    a, b, c = (new_dataset(kb, _name("kb")) for _ in range(3))
    kb.post("/datasets/tags/binding", json={"tag_ids": [red["id"]], "target_id": a["id"]})
    kb.post("/datasets/tags/binding", json={"tag_ids": [red["id"], blue["id"]], "target_id": b["id"]})
    kb.post("/datasets/tags/binding", json={"tag_ids": [blue["id"]], "target_id": c["id"]})

    def listed(*tag_ids: str) -> set[str]:
        body = kb.get("/datasets", params=[("tag_ids", t) for t in tag_ids] + [("limit", "100")]).json()
        assert body["total"] == len(body["data"])
        return {d["id"] for d in body["data"]}

    assert listed(red["id"]) == {a["id"], b["id"]}
    assert listed(red["id"], blue["id"]) == {a["id"], b["id"], c["id"]}
    assert listed(unused["id"]) == set()
    assert listed(str(uuid.uuid4())) == set()
    page = kb.get("/datasets", params={"tag_ids": red["id"], "limit": 100}).json()
    tagged_b = next(d for d in page["data"] if d["id"] == b["id"])
    assert {t["name"] for t in tagged_b["tags"]} == {red["name"], blue["name"]}


def test_deleting_a_dataset_removes_its_bindings(kb: httpx.Client) -> None:
    tag = _tag(kb, _name())
    dataset = new_dataset(kb, _name("kb"))
    kb.post("/datasets/tags/binding", json={"tag_ids": [tag["id"]], "target_id": dataset["id"]})
    assert kb.delete(f"/datasets/{dataset['id']}").status_code == 204
    by_id = {t["id"]: t for t in kb.get("/datasets/tags").json()}
    assert by_id[tag["id"]]["binding_count"] == "0"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/datasets/tags", None),
        ("POST", "/datasets/tags", {"name": "x"}),
        ("PATCH", "/datasets/tags", {"tag_id": "x", "name": "y"}),
        ("DELETE", "/datasets/tags", {"tag_id": "x"}),
        ("POST", "/datasets/tags/binding", {"tag_ids": ["x"], "target_id": "y"}),
        ("POST", "/datasets/tags/unbinding", {"tag_ids": ["x"], "target_id": "y"}),
        ("GET", f"/datasets/{uuid.uuid4()}/tags", None),
    ],
)
def test_an_app_key_cannot_use_tags(
    server: RunningServer, hello_app: ImportedApp, method: str, path: str, body: object
) -> None:
    with client_for(server, hello_app.api_key) as client:
        response = client.request(method, path, json=body)
    _assert_error(response, 401, "unauthorized")

"""The Knowledge API over HTTP (SQLite and PostgreSQL): datasets, documents, indexing, segments, retrieval, metadata."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from kb_helpers import add_text, create_dataset_key, new_dataset, wait_indexed
from support.apps import ImportedApp
from support.server import RunningServer

FACTS = """The Amberlight lighthouse stands on Korrin Point and was lit for the first time in 1874.

Korrin Point is famous for its puffin colony, which returns every April.

The ferry to Korrin Point leaves from Dunmore harbour twice a day."""


@pytest.fixture(scope="session")
def dataset_key(server: RunningServer) -> str:
    return create_dataset_key(server.settings)


@pytest.fixture
def kb(server: RunningServer, dataset_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.api_url, headers={"Authorization": f"Bearer {dataset_key}"}, timeout=60
    ) as client:
        yield client


def client_for(server: RunningServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _name() -> str:
    return f"kb-{uuid.uuid4().hex[:8]}"


# ---- auth -----------------------------------------------------------------------------------------------------------


def test_app_key_on_a_dataset_route_is_invalid(server: RunningServer, hello_app: ImportedApp) -> None:
    with client_for(server, hello_app.api_key) as client:
        response = client.get("/datasets")
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": "Access token is invalid", "status": 401}


def test_dataset_key_on_an_app_route_is_invalid(server: RunningServer, dataset_key: str) -> None:
    assert dataset_key.startswith("dataset-") and len(dataset_key) == len("dataset-") + 24
    with client_for(server, dataset_key) as client:
        response = client.get("/info")
    assert response.status_code == 401
    assert response.json()["message"] == "Access token is invalid"


# ---- datasets -------------------------------------------------------------------------------------------------------


def test_dataset_is_created_in_difys_shape(kb: httpx.Client) -> None:
    name = _name()
    dataset = new_dataset(kb, name, description="Lighthouses")
    assert dataset["name"] == name and dataset["description"] == "Lighthouses"
    assert dataset["indexing_technique"] == "high_quality"
    assert dataset["embedding_model"] == "multilingual-e5-small"
    assert dataset["document_count"] == 0 and dataset["word_count"] == 0
    assert dataset["retrieval_model_dict"]["search_method"] == "semantic_search"
    assert {"provider", "permission", "app_count", "created_at", "doc_form", "tags"} <= dataset.keys()


def test_duplicate_dataset_name_is_409(kb: httpx.Client) -> None:
    name = _name()
    new_dataset(kb, name)
    response = kb.post("/datasets", json={"name": name})
    assert response.status_code == 409
    assert response.json()["code"] == "dataset_name_duplicate"


def test_dataset_name_over_40_characters_is_400(kb: httpx.Client) -> None:
    response = kb.post("/datasets", json={"name": "x" * 41})
    assert response.status_code == 400
    assert response.json()["message"] == "Name must be between 1 to 40 characters."


def test_datasets_are_listed_with_paging(kb: httpx.Client) -> None:
    names = [_name() for _ in range(3)]
    for name in names:
        new_dataset(kb, name)
    page = kb.get("/datasets", params={"limit": 2, "page": 1}).json()
    assert len(page["data"]) == 2 and page["has_more"] is True and page["limit"] == 2 and page["page"] == 1
    found = kb.get("/datasets", params={"keyword": names[1]}).json()
    assert [d["name"] for d in found["data"]] == [names[1]] and found["total"] == 1


def test_dataset_is_updated(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    response = kb.patch(
        f"/datasets/{dataset['id']}",
        json={"description": "new", "retrieval_model": {"search_method": "hybrid_search", "top_k": 3}},
    )
    assert response.status_code == 200
    assert response.json()["description"] == "new"
    assert response.json()["retrieval_model_dict"]["search_method"] == "hybrid_search"


def test_dataset_delete_is_a_real_204_then_404(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    add_text(kb, dataset["id"], "facts", FACTS)
    response = kb.delete(f"/datasets/{dataset['id']}")
    assert response.status_code == 204 and response.content == b""
    missing = kb.get(f"/datasets/{dataset['id']}")
    assert missing.status_code == 404 and missing.json()["message"] == "Dataset not found."


# ---- documents ------------------------------------------------------------------------------------------------------


def test_text_document_is_indexed_in_the_background(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    response = kb.post(
        f"/datasets/{dataset['id']}/document/create_by_text",
        json={
            "name": "facts",
            "text": FACTS,
            "indexing_technique": "high_quality",
            "process_rule": {"mode": "automatic"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"document", "batch"}
    assert body["document"]["name"] == "facts"
    assert body["document"]["indexing_status"] in (
        "waiting",
        "parsing",
        "cleaning",
        "splitting",
        "indexing",
        "completed",
    )
    (status,) = wait_indexed(kb, dataset["id"], body["batch"])
    assert status["id"] == body["document"]["id"] and status["indexing_status"] == "completed"
    assert status["completed_segments"] == status["total_segments"] == 3
    for stage in (
        "processing_started_at",
        "parsing_completed_at",
        "cleaning_completed_at",
        "splitting_completed_at",
        "completed_at",
    ):
        assert isinstance(status[stage], int), stage
    listed = kb.get(f"/datasets/{dataset['id']}/documents").json()
    (document,) = listed["data"]
    assert document["display_status"] == "available" and document["word_count"] > 0 and document["tokens"] > 0
    assert kb.get(f"/datasets/{dataset['id']}").json()["document_count"] == 1


def test_custom_rules_split_on_the_separator(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    text = "alpha one###beta two###gamma three"
    body = add_text(
        kb,
        dataset["id"],
        "parts",
        text,
        process_rule={
            "mode": "custom",
            "rules": {
                "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": True}],
                "segmentation": {"separator": "###", "max_tokens": 100, "chunk_overlap": 0},
            },
        },
    )
    segments = kb.get(f"/datasets/{dataset['id']}/documents/{body['document']['id']}/segments").json()
    assert [s["content"] for s in segments["data"]] == ["alpha one", "beta two", "gamma three"]
    assert segments["doc_form"] == "text_model" and segments["total"] == 3


def test_file_document_is_parsed_and_indexed(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    data = {
        "indexing_technique": "high_quality",
        "process_rule": {
            "mode": "custom",
            "rules": {
                "pre_processing_rules": [],
                "segmentation": {"separator": "\\n\\n", "max_tokens": 200, "chunk_overlap": 0},
            },
        },
    }
    response = kb.post(
        f"/datasets/{dataset['id']}/document/create_by_file",
        files={"file": ("korrin.md", FACTS.encode(), "text/markdown")},
        data={"data": json.dumps(data)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["document"]["name"] == "korrin.md"
    assert body["document"]["data_source_info"]["upload_file"]["extension"] == "md"
    (status,) = wait_indexed(kb, dataset["id"], body["batch"])
    assert status["indexing_status"] == "completed" and status["total_segments"] == 3


def test_create_by_file_without_a_file_is_400(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    response = kb.post(
        f"/datasets/{dataset['id']}/document/create_by_file",
        data={"data": "{}"},
        files={"other": ("x.txt", b"x", "text/plain")},
    )
    assert response.status_code == 400 and response.json()["code"] == "no_file_uploaded"


def test_a_failed_document_records_its_error_and_the_others_complete(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    broken = kb.post(
        f"/datasets/{dataset['id']}/document/create_by_file",
        files={"file": ("broken.pdf", b"this is not a pdf", "application/pdf")},
        data={"data": json.dumps({"indexing_technique": "high_quality"})},
    ).json()
    good = kb.post(f"/datasets/{dataset['id']}/document/create_by_text", json={"name": "good", "text": FACTS}).json()
    (failed,) = wait_indexed(kb, dataset["id"], broken["batch"])
    (done,) = wait_indexed(kb, dataset["id"], good["batch"])
    assert failed["indexing_status"] == "error" and "PDF" in failed["error"]
    assert done["indexing_status"] == "completed"
    statuses = {d["name"]: d["display_status"] for d in kb.get(f"/datasets/{dataset['id']}/documents").json()["data"]}
    assert statuses == {"broken.pdf": "error", "good": "available"}


def test_update_by_text_reindexes_the_document(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    body = add_text(kb, dataset["id"], "facts", FACTS)
    doc_id = body["document"]["id"]
    updated = kb.post(
        f"/datasets/{dataset['id']}/documents/{doc_id}/update_by_text",
        json={"name": "renamed", "text": "Only one paragraph about Quillon Bay now."},
    ).json()
    assert updated["document"]["name"] == "renamed" and updated["batch"] != body["batch"]
    (status,) = wait_indexed(kb, dataset["id"], updated["batch"])
    assert status["total_segments"] == 1
    hits = kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "Quillon Bay"}).json()["records"]
    assert [h["segment"]["document"]["name"] for h in hits] == ["renamed"]


def test_document_delete_is_204_and_removes_it_from_search(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    body = add_text(kb, dataset["id"], "facts", FACTS)
    response = kb.delete(f"/datasets/{dataset['id']}/documents/{body['document']['id']}")
    assert response.status_code == 204 and response.content == b""
    assert kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "puffins"}).json()["records"] == []
    assert kb.get(f"/datasets/{dataset['id']}/documents/{body['document']['id']}").status_code == 404


def test_disabled_document_is_not_retrieved(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    body = add_text(kb, dataset["id"], "facts", FACTS)
    response = kb.patch(
        f"/datasets/{dataset['id']}/documents/status/disable", json={"document_ids": [body["document"]["id"]]}
    )
    assert response.json() == {"result": "success"}
    assert kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "puffins"}).json()["records"] == []
    kb.patch(f"/datasets/{dataset['id']}/documents/status/enable", json={"document_ids": [body["document"]["id"]]})
    assert kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "puffins"}).json()["records"]


# ---- segments -------------------------------------------------------------------------------------------------------


def test_segments_are_added_updated_and_deleted(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    body = add_text(kb, dataset["id"], "facts", FACTS)
    base = f"/datasets/{dataset['id']}/documents/{body['document']['id']}/segments"
    added = kb.post(
        base, json={"segments": [{"content": "Dunmore harbour has a red crane.", "keywords": ["crane"]}]}
    ).json()
    (segment,) = added["data"]
    assert added["doc_form"] == "text_model" and segment["position"] == 4 and segment["keywords"] == ["crane"]
    assert segment["status"] == "completed"
    hit = kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "what colour is the crane?"}).json()
    assert hit["records"][0]["segment"]["id"] == segment["id"]

    changed = kb.post(f"{base}/{segment['id']}", json={"segment": {"content": "Dunmore harbour has a blue crane."}})
    assert changed.json()["data"]["content"] == "Dunmore harbour has a blue crane."
    assert kb.get(f"{base}/{segment['id']}").json()["data"]["content"].endswith("blue crane.")
    assert kb.get(base).json()["total"] == 4

    deleted = kb.delete(f"{base}/{segment['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert kb.get(f"{base}/{segment['id']}").status_code == 404
    assert kb.get(base).json()["total"] == 3


def test_parent_child_documents_retrieve_parents_with_matching_children(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    text = (
        "Korrin Point facts.\nThe lighthouse was lit in 1874.\nPuffins return every April.\n\n"
        "Dunmore facts.\nThe ferry leaves twice a day.\nThe harbour has a red crane."
    )
    body = add_text(
        kb,
        dataset["id"],
        "tree",
        text,
        doc_form="hierarchical_model",
        process_rule={
            "mode": "hierarchical",
            "rules": {
                "pre_processing_rules": [],
                "segmentation": {"separator": "\n\n", "max_tokens": 500},
                "parent_mode": "paragraph",
                "subchunk_segmentation": {"separator": "\n", "max_tokens": 100},
            },
        },
    )
    segments = kb.get(f"/datasets/{dataset['id']}/documents/{body['document']['id']}/segments").json()
    assert segments["doc_form"] == "hierarchical_model"
    assert [len(s["child_chunks"]) for s in segments["data"]] == [3, 3]
    records = kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "When do the puffins come back?"}).json()[
        "records"
    ]
    assert records[0]["segment"]["content"].startswith("Korrin Point facts.")
    assert records[0]["child_chunks"][0]["content"] == "Puffins return every April."


# ---- retrieval ------------------------------------------------------------------------------------------------------


def test_retrieve_answers_in_difys_shape(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    body = add_text(kb, dataset["id"], "facts", FACTS)
    response = kb.post(
        f"/datasets/{dataset['id']}/retrieve",
        json={
            "query": "When was the lighthouse first lit?",
            "retrieval_model": {
                "search_method": "hybrid_search",
                "top_k": 2,
                "reranking_enable": False,
                "score_threshold_enabled": False,
            },
        },
    )
    assert response.status_code == 200
    result = response.json()
    assert result["query"] == {"content": "When was the lighthouse first lit?"}
    assert len(result["records"]) == 2
    top = result["records"][0]
    assert top["segment"]["content"].startswith("The Amberlight lighthouse")
    assert top["segment"]["document"] == {
        "id": body["document"]["id"],
        "data_source_type": "upload_file",
        "name": "facts",
        "doc_type": None,
        "doc_metadata": None,
    }
    assert 0 < top["score"] <= 1 and top["tsne_position"] is None
    assert result["records"][0]["score"] >= result["records"][1]["score"]


def test_score_threshold_drops_weak_hits(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    add_text(kb, dataset["id"], "facts", FACTS)
    records = kb.post(
        f"/datasets/{dataset['id']}/retrieve",
        json={
            "query": "puffin colony",
            "retrieval_model": {
                "search_method": "full_text_search",
                "top_k": 5,
                "score_threshold_enabled": True,
                "score_threshold": 0.5,
            },
        },
    ).json()["records"]
    assert [r["segment"]["content"] for r in records] == [
        "Korrin Point is famous for its puffin colony, which returns every April."
    ]


def test_metadata_filter_limits_retrieval_to_matching_documents(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    north = add_text(kb, dataset["id"], "north", "The northern ferry carries bicycles for free.")
    south = add_text(kb, dataset["id"], "south", "The southern ferry charges two coins for bicycles.")
    field = kb.post(f"/datasets/{dataset['id']}/metadata", json={"type": "string", "name": "region"})
    assert field.status_code == 201
    field_id = field.json()["id"]
    response = kb.post(
        f"/datasets/{dataset['id']}/documents/metadata",
        json={
            "operation_data": [
                {
                    "document_id": north["document"]["id"],
                    "metadata_list": [{"id": field_id, "name": "region", "value": "north"}],
                },
                {
                    "document_id": south["document"]["id"],
                    "metadata_list": [{"id": field_id, "name": "region", "value": "south"}],
                },
            ]
        },
    )
    assert response.json() == {"result": "success"}
    listed = kb.get(f"/datasets/{dataset['id']}/metadata").json()
    assert listed == {
        "doc_metadata": [{"id": field_id, "name": "region", "type": "string", "count": 2}],
        "built_in_field_enabled": False,
    }
    records = kb.post(
        f"/datasets/{dataset['id']}/retrieve",
        json={
            "query": "ferry bicycles",
            "retrieval_model": {
                "search_method": "semantic_search",
                "top_k": 5,
                "metadata_filtering_conditions": {
                    "logical_operator": "and",
                    "conditions": [{"name": "region", "comparison_operator": "is", "value": "south"}],
                },
            },
        },
    ).json()["records"]
    assert [r["segment"]["document"]["name"] for r in records] == ["south"]
    doc = kb.get(f"/datasets/{dataset['id']}/documents/{south['document']['id']}").json()
    assert doc["doc_metadata"] == [{"id": field_id, "name": "region", "type": "string", "value": "south"}]


def test_metadata_field_rename_and_delete(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    field_id = kb.post(f"/datasets/{dataset['id']}/metadata", json={"type": "number", "name": "year"}).json()["id"]
    renamed = kb.patch(f"/datasets/{dataset['id']}/metadata/{field_id}", json={"name": "published"})
    assert renamed.json() == {"id": field_id, "type": "number", "name": "published"}
    assert kb.delete(f"/datasets/{dataset['id']}/metadata/{field_id}").status_code == 204
    assert kb.get(f"/datasets/{dataset['id']}/metadata").json()["doc_metadata"] == []
    built_in = kb.get(f"/datasets/{dataset['id']}/metadata/built-in").json()["fields"]
    assert {"name": "document_name", "type": "string"} in built_in


def test_economy_datasets_are_searched_by_keywords_without_embeddings(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name(), indexing_technique="economy")
    assert dataset["embedding_model"] is None
    add_text(kb, dataset["id"], "facts", FACTS, indexing_technique="economy")
    records = kb.post(
        f"/datasets/{dataset['id']}/retrieve",
        json={"query": "ferry harbour", "retrieval_model": {"search_method": "semantic_search", "top_k": 1}},
    ).json()["records"]
    assert [r["segment"]["content"] for r in records] == [
        "The ferry to Korrin Point leaves from Dunmore harbour twice a day."
    ]


def test_a_document_indexed_after_a_search_is_found_by_the_next_search(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    add_text(kb, dataset["id"], "first", FACTS)
    assert kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "lighthouse"}).json()["records"]
    add_text(kb, dataset["id"], "second", "The Ossel windmill grinds rye on Sundays.")
    records = kb.post(f"/datasets/{dataset['id']}/retrieve", json={"query": "Ossel windmill rye"}).json()["records"]
    assert records[0]["segment"]["document"]["name"] == "second"


def test_update_by_file_replaces_the_content(kb: httpx.Client) -> None:
    dataset = new_dataset(kb, _name())
    body = add_text(kb, dataset["id"], "facts", FACTS)
    response = kb.post(
        f"/datasets/{dataset['id']}/documents/{body['document']['id']}/update_by_file",
        files={"file": ("mill.csv", b"name,grain\nOssel windmill,rye\n", "text/csv")},
        data={"data": json.dumps({"name": "mills"})},
    )
    assert response.status_code == 200, response.text
    (status,) = wait_indexed(kb, dataset["id"], response.json()["batch"])
    assert status["indexing_status"] == "completed"
    records = kb.post(f"/datasets/{dataset['id']}/hit-testing", json={"query": "Ossel windmill"}).json()["records"]
    assert records[0]["segment"]["document"]["name"] == "mills" and "rye" in records[0]["segment"]["content"]

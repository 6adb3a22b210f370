"""Every knowledge operation kawa serves (datasets, documents, segments, child chunks, retrieval, metadata, tags)
and the workspace's model listing, driven through a real server on loopback (SQLite and PostgreSQL): each answer is
validated against Dify's documented shapes (kawa.api.shapes) by the ShapeRecorder."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from api.dify_operations import DIFY_OPERATIONS, PIPELINE
from support.server import RunningServer

from contract.shape_recorder import ShapeRecorder
from kawa.services import open_services

KNOWLEDGE_OPERATIONS = {  # the knowledge part of Dify's list, but for the pipeline API kawa leaves out
    op for op in DIFY_OPERATIONS if op[1].startswith(("/datasets", "/workspaces")) and op not in PIPELINE
}
TREE = "Korrin Point facts.\nThe lighthouse was lit in 1874.\n\nDunmore facts.\nThe ferry leaves twice a day."
HIERARCHICAL = {
    "doc_form": "hierarchical_model",
    "process_rule": {
        "mode": "hierarchical",
        "rules": {
            "pre_processing_rules": [],
            "segmentation": {"separator": "\n\n", "max_tokens": 500},
            "parent_mode": "paragraph",
            "subchunk_segmentation": {"separator": "\n", "max_tokens": 100},
        },
    },
}


def _dataset_key(server: RunningServer) -> str:
    import asyncio

    async def work() -> str:
        async with open_services(server.settings) as services:
            _, token = await services.keys.create(None, type="dataset")
            return token

    return asyncio.run(work())


def _indexed(kb: httpx.Client, dataset_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        data = kb.get(f"/datasets/{dataset_id}/documents/{answer['batch']}/indexing-status").json()["data"]
        if all(d["indexing_status"] in ("completed", "error") for d in data):
            return answer
        assert time.monotonic() < deadline, data
        time.sleep(0.1)


def test_every_knowledge_operation_has_difys_shape(server: RunningServer) -> None:
    recorder = ShapeRecorder()
    with recorder.client(server.api_url, _dataset_key(server)) as kb:
        name = f"contract-{uuid.uuid4().hex[:8]}"
        dataset = kb.post("/datasets", json={"name": name, "indexing_technique": "high_quality"}).json()
        ds = dataset["id"]
        kb.get("/datasets")
        kb.get(f"/datasets/{ds}")
        kb.patch(f"/datasets/{ds}", json={"description": "contract"})
        text = kb.post(
            f"/datasets/{ds}/document/create-by-text",
            json={"name": "facts", "text": "The lighthouse was lit in 1874.", "indexing_technique": "high_quality"},
        ).json()
        doc = _indexed(kb, ds, text)["document"]["id"]
        upload = kb.post(
            f"/datasets/{ds}/document/create-by-file",
            files={"file": ("mills.csv", b"name,grain\nOssel windmill,rye\n", "text/csv")},
            data={"data": json.dumps({"indexing_technique": "high_quality"})},
        ).json()
        file_doc = _indexed(kb, ds, upload)["document"]["id"]
        kb.get(f"/datasets/{ds}/documents")
        kb.get(f"/datasets/{ds}/documents/{doc}")
        kb.get(f"/datasets/{ds}/documents/{file_doc}/download")
        kb.post(f"/datasets/{ds}/documents/download-zip", json={"document_ids": [file_doc]})
        _indexed(
            kb,
            ds,
            kb.patch(
                f"/datasets/{ds}/documents/{file_doc}",
                files={"file": ("mills.csv", b"name,grain\nPell mill,oats\n", "text/csv")},
                data={"data": json.dumps({"process_rule": {"mode": "automatic"}})},
            ).json(),
        )
        _indexed(
            kb,
            ds,
            kb.post(
                f"/datasets/{ds}/documents/{file_doc}/update-by-file",
                files={"file": ("mills.csv", b"name,grain\nOssel windmill,rye\n", "text/csv")},
                data={"data": json.dumps({"name": "mills"})},
            ).json(),
        )
        _indexed(
            kb,
            ds,
            kb.post(f"/datasets/{ds}/documents/{doc}/update-by-text", json={"text": "It was lit in 1875."}).json(),
        )
        kb.patch(f"/datasets/{ds}/documents/status/disable", json={"document_ids": [doc]})
        kb.patch(f"/datasets/{ds}/documents/status/enable", json={"document_ids": [doc]})

        segments = f"/datasets/{ds}/documents/{doc}/segments"
        added = kb.post(segments, json={"segments": [{"content": "A red crane.", "keywords": ["crane"]}]}).json()
        segment = added["data"][0]["id"]
        kb.get(segments)
        kb.get(f"{segments}/{segment}")
        kb.post(f"{segments}/{segment}", json={"segment": {"content": "A blue crane."}})
        kb.post(f"/datasets/{ds}/retrieve", json={"query": "crane"})
        kb.delete(f"{segments}/{segment}")

        # a dataset holds one document form: the parent-child document goes to a second one
        tree_ds = kb.post("/datasets", json={"name": name + "-tree", "indexing_technique": "high_quality"}).json()["id"]
        tree = _indexed(
            kb,
            tree_ds,
            kb.post(
                f"/datasets/{tree_ds}/document/create-by-text",
                json={"name": "tree", "text": TREE, "indexing_technique": "high_quality", **HIERARCHICAL},
            ).json(),
        )
        tree_segments = f"/datasets/{tree_ds}/documents/{tree['document']['id']}/segments"
        parent = kb.get(tree_segments).json()["data"][0]["id"]
        chunks = f"{tree_segments}/{parent}/child_chunks"
        child = kb.post(chunks, json={"content": "Puffins return every April."}).json()["data"]["id"]
        kb.get(chunks)
        kb.patch(f"{chunks}/{child}", json={"content": "Puffins return in April."})
        kb.delete(f"{chunks}/{child}")
        kb.post(f"/datasets/{tree_ds}/retrieve", json={"query": "When do the puffins come back?"})

        field = kb.post(f"/datasets/{ds}/metadata", json={"type": "string", "name": "region"}).json()["id"]
        kb.get(f"/datasets/{ds}/metadata")
        kb.patch(f"/datasets/{ds}/metadata/{field}", json={"name": "area"})
        kb.post(
            f"/datasets/{ds}/documents/metadata",
            json={
                "operation_data": [{"document_id": doc, "metadata_list": [{"id": field, "name": "area", "value": "n"}]}]
            },
        )
        kb.get(f"/datasets/{ds}/metadata/built-in")
        kb.post(f"/datasets/{ds}/metadata/built-in/enable")
        kb.delete(f"/datasets/{ds}/metadata/{field}")

        tag = kb.post("/datasets/tags", json={"name": f"t-{uuid.uuid4().hex[:8]}"}).json()["id"]
        kb.get("/datasets/tags")
        kb.patch("/datasets/tags", json={"tag_id": tag, "name": f"r-{uuid.uuid4().hex[:8]}"})
        kb.post("/datasets/tags/binding", json={"tag_ids": [tag], "target_id": ds})
        kb.get(f"/datasets/{ds}/tags")
        kb.post("/datasets/tags/unbinding", json={"tag_ids": [tag], "target_id": ds})
        kb.request("DELETE", "/datasets/tags", json={"tag_id": tag})

        kb.get("/workspaces/current/models/model-types/text-embedding")
        kb.delete(f"/datasets/{ds}/documents/{file_doc}")
        kb.delete(f"/datasets/{ds}")
        kb.delete(f"/datasets/{tree_ds}")

    missing = KNOWLEDGE_OPERATIONS - set(recorder.operations)
    assert not missing, f"not validated (an answer was an error or never sent): {sorted(missing)}"
    assert not recorder.errors, recorder.errors
    print(f"\ncontract: {len(recorder.operations)} knowledge operations, {recorder.operations.total()} answers")

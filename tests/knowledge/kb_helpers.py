"""Helpers of the knowledge tests: a dataset key, datasets and documents created over HTTP, waiting for indexing.
(No conftest.py here: a second module named `conftest` would shadow tests/conftest.py for the modules importing it.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from kawa.services import open_services
from kawa.settings import Settings


def create_dataset_key(settings: Settings) -> str:
    async def work() -> str:
        async with open_services(settings) as services:
            _, token = await services.keys.create(None, type="dataset")
            return token

    return asyncio.run(work())


def new_dataset(client: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/datasets", json={"name": name, "indexing_technique": "high_quality", **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_indexed(client: httpx.Client, dataset_id: str, batch: str, timeout: float = 90) -> list[dict[str, Any]]:
    """Poll indexing-status until every document of the batch is completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/datasets/{dataset_id}/documents/{batch}/indexing-status")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        if all(d["indexing_status"] in ("completed", "error") for d in data):
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"indexing did not finish: {data}")
        time.sleep(0.1)


def add_text(client: httpx.Client, dataset_id: str, name: str, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"/datasets/{dataset_id}/document/create_by_text",
        json={"name": name, "text": text, "indexing_technique": "high_quality", **fields},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    wait_indexed(client, dataset_id, body["batch"])
    return body

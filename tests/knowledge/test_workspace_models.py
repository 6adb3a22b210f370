"""`GET /workspaces/current/models/model-types/{type}` (Knowledge API key, SQLite and PostgreSQL): the models named in
settings and the embedded ones, in Dify's provider-with-models shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from kb_helpers import create_dataset_key
from support.apps import ImportedApp
from support.clients import client_for, make_settings
from support.server import RunningServer, start_server

MODELS = {
    "providers": {
        # never called: listing models reads settings only
        "openai": {
            "base_url": "http://127.0.0.1:9/v1",
            "models": ["gpt-4o-mini"],
            "embedding_models": ["text-embedding-3-small"],
        },
        "ollama": {"base_url": "http://127.0.0.1:9/v1", "vision": False},
    },
    "default_chat_model": "ollama/llama3.2",
    "embedded": {"chat": False},
}


@pytest.fixture(scope="module")
def models_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(make_settings(tmp_path_factory.mktemp("models-home"), database_url, models=MODELS))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kb(models_server: RunningServer) -> Iterator[httpx.Client]:
    with client_for(models_server, create_dataset_key(models_server.settings)) as client:
        yield client


def _providers(kb: httpx.Client, model_type: str) -> dict[str, dict[str, object]]:
    response = kb.get(f"/workspaces/current/models/model-types/{model_type}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["data"]
    return {p["provider"]: p for p in body["data"]}


def test_embedding_models_are_the_configured_and_the_embedded_ones(kb: httpx.Client) -> None:
    providers = _providers(kb, "text-embedding")
    assert set(providers) == {"openai", "embedded"}
    openai = providers["openai"]
    assert openai["status"] == "active" and openai["label"] == {"en_US": "openai", "zh_Hans": "openai"}
    assert {"tenant_id", "icon_small", "icon_small_dark"} <= set(openai)
    (model,) = openai["models"]  # type: ignore[misc]
    assert model == {
        "model": "text-embedding-3-small",
        "label": {"en_US": "text-embedding-3-small", "zh_Hans": "text-embedding-3-small"},
        "model_type": "text-embedding",
        "features": None,
        "fetch_from": "customizable-model",
        "model_properties": {},
        "deprecated": False,
        "status": "active",
        "load_balancing_enabled": False,
        "has_invalid_load_balancing_configs": False,
    }
    (embedded,) = providers["embedded"]["models"]  # type: ignore[misc]
    assert embedded["model"] == "multilingual-e5-small" and embedded["fetch_from"] == "predefined-model"
    assert embedded["model_properties"] == {"context_size": 512}


def test_a_new_datasets_embedding_model_is_one_the_list_offers(kb: httpx.Client) -> None:
    offered = {
        (p["provider"], m["model"])  # type: ignore[index]
        for p in _providers(kb, "text-embedding").values()
        for m in p["models"]  # type: ignore[attr-defined]
    }
    dataset = kb.post("/datasets", json={"name": "models-check", "indexing_technique": "high_quality"}).json()
    assert (dataset["embedding_model_provider"], dataset["embedding_model"]) in offered


def test_chat_models_carry_their_features_and_context_size(kb: httpx.Client) -> None:
    providers = _providers(kb, "llm")
    assert set(providers) == {"openai", "ollama"}  # the embedded chat model is off in these settings
    (gpt,) = providers["openai"]["models"]  # type: ignore[misc]
    assert gpt["model"] == "gpt-4o-mini" and gpt["model_type"] == "llm"
    assert gpt["features"] == ["structured-output", "tool-call", "vision"]
    assert gpt["model_properties"] == {"context_size": 128000}
    (llama,) = providers["ollama"]["models"]  # type: ignore[misc]
    assert llama["model"] == "llama3.2" and "vision" not in llama["features"]


def test_rerank_offers_the_embedded_reranker(kb: httpx.Client) -> None:
    providers = _providers(kb, "rerank")
    assert [m["model"] for m in providers["embedded"]["models"]] == ["multilingual-e5-small+bm25"]  # type: ignore[attr-defined]
    assert "openai" not in providers  # settings name no rerank model for it


def test_moderation_lists_nothing_named_in_settings(kb: httpx.Client) -> None:
    assert _providers(kb, "moderation") == {}


@pytest.mark.parametrize("model_type", ["chat", "LLM", "text_embedding", "x" * 200])
def test_an_unknown_model_type_is_invalid_param(kb: httpx.Client, model_type: str) -> None:
    response = kb.get(f"/workspaces/current/models/model-types/{model_type}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_param"


def test_an_app_key_cannot_list_models(server: RunningServer, hello_app: ImportedApp) -> None:
    with client_for(server, hello_app.api_key) as client:
        response = client.get("/workspaces/current/models/model-types/llm")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"

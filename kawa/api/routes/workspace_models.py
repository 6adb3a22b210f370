"""`GET /workspaces/current/models/model-types/{model_type}` (Knowledge API key): the models of one type this server
offers, in Dify's provider-with-models shape, so clients can pick a dataset's `embedding_model` and rerank model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.models.catalog import ModelType, OfferedModel, ProviderModels, available_models

router = APIRouter(tags=["knowledge"])

NO_TENANT = "00000000-0000-0000-0000-000000000000"  # kawa has no workspaces


def _label(text: str) -> dict[str, str]:
    return {"en_US": text, "zh_Hans": text}


def _model_view(m: OfferedModel, model_type: ModelType) -> dict[str, Any]:
    return {
        "model": m.model,
        "label": _label(m.model),
        "model_type": model_type,
        "features": m.features,
        "fetch_from": "predefined-model" if m.predefined else "customizable-model",
        "model_properties": {} if m.context_size is None else {"context_size": m.context_size},
        "deprecated": False,
        "status": "active",
        "load_balancing_enabled": False,
        "has_invalid_load_balancing_configs": False,
    }


def _provider_view(p: ProviderModels, model_type: ModelType) -> dict[str, Any]:
    return {
        "tenant_id": NO_TENANT,
        "provider": p.provider,
        "label": _label(p.provider),
        "icon_small": None,
        "icon_small_dark": None,
        "status": "active",
        "models": [_model_view(m, model_type) for m in p.models],
    }


@router.get("/workspaces/current/models/model-types/{model_type}", summary="Models of one type this server offers")
async def models_of_type(model_type: ModelType, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    return {"data": [_provider_view(p, model_type) for p in available_models(services.models, model_type)]}

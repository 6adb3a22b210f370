"""Knowledge API, metadata: a dataset's metadata fields, the built-in ones, and documents' values."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from kawa.api.auth import DatasetAuthDep, ServicesDep
from kawa.api.bodies import JsonBody
from kawa.api.routes.knowledge.params import KnowledgeBody, check_api_enabled, no_content, require_api_dataset
from kawa.store.datasets import BUILT_IN_FIELDS

router = APIRouter(prefix="/datasets", tags=["knowledge"])


class MetadataCreate(KnowledgeBody):
    type: Literal["string", "number", "time"]
    name: str


class MetadataRename(KnowledgeBody):
    name: str


class DocumentsMetadata(KnowledgeBody):
    operation_data: list[dict[str, Any]]


@router.post("/{dataset_id}/metadata", dependencies=[JsonBody], status_code=201, summary="Add a metadata field")
async def create_metadata(
    dataset_id: str, body: MetadataCreate, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    field = await services.knowledge.datasets.create_field(dataset_id, body.name, body.type)
    return {"id": field.id, "type": field.type, "name": field.name}


@router.get("/{dataset_id}/metadata", summary="The dataset's metadata fields with their use counts")
async def list_metadata(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    store = services.knowledge.datasets
    dataset = await store.get(dataset_id)
    check_api_enabled(dataset.enable_api)
    counts = await store.field_counts(dataset_id)
    return {
        "doc_metadata": [
            {"id": f.id, "name": f.name, "type": f.type, "count": counts.get(f.name, 0)}
            for f in await store.fields(dataset_id)
        ],
        "built_in_field_enabled": dataset.built_in_field_enabled,
    }


@router.get("/{dataset_id}/metadata/built-in", summary="The built-in metadata fields")
async def built_in_metadata(dataset_id: str, _: DatasetAuthDep, services: ServicesDep) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    return {"fields": BUILT_IN_FIELDS}


@router.post("/{dataset_id}/metadata/built-in/{action}", summary="Enable or disable the built-in fields")
async def toggle_built_in(
    dataset_id: str, action: Literal["enable", "disable"], _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    await services.knowledge.datasets.update(dataset_id, {"built_in_field_enabled": action == "enable"})
    return {"result": "success"}


@router.patch("/{dataset_id}/metadata/{metadata_id}", dependencies=[JsonBody], summary="Rename a metadata field")
async def rename_metadata(
    dataset_id: str, metadata_id: str, body: MetadataRename, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    field = await services.knowledge.datasets.rename_field(dataset_id, metadata_id, body.name)
    return {"id": field.id, "type": field.type, "name": field.name}


@router.delete("/{dataset_id}/metadata/{metadata_id}", status_code=204, summary="Delete a metadata field")
async def delete_metadata(dataset_id: str, metadata_id: str, _: DatasetAuthDep, services: ServicesDep) -> Response:
    await require_api_dataset(services, dataset_id)
    await services.knowledge.datasets.delete_field(dataset_id, metadata_id)
    return no_content()


@router.post("/{dataset_id}/documents/metadata", dependencies=[JsonBody], summary="Set documents' metadata values")
async def set_documents_metadata(
    dataset_id: str, body: DocumentsMetadata, _: DatasetAuthDep, services: ServicesDep
) -> dict[str, Any]:
    await require_api_dataset(services, dataset_id)
    await services.knowledge.datasets.set_document_values(dataset_id, body.operation_data)
    return {"result": "success"}

"""The Dify Knowledge API under `/v1/datasets`, authorised by `dataset-` keys, one module per spec page: datasets,
documents (with where their source comes from), segments and child chunks, retrieval (hit testing), metadata and
tags.

DELETE answers a real `204 No Content` (Dify answers 200 with the body `204`: a quirk kawa fixes).
"""

from __future__ import annotations

from fastapi import APIRouter

from kawa.api.routes.knowledge.datasets import router as datasets_router
from kawa.api.routes.knowledge.document_files import public_router as document_files_public_router
from kawa.api.routes.knowledge.document_files import router as document_files_router
from kawa.api.routes.knowledge.documents import router as documents_router
from kawa.api.routes.knowledge.metadata import router as metadata_router
from kawa.api.routes.knowledge.retrieval import router as retrieval_router
from kawa.api.routes.knowledge.segments import router as segments_router
from kawa.api.routes.knowledge.tags import router as tags_router

router = APIRouter()
# tags first: `/datasets/tags` must not be taken for a dataset id by `/datasets/{dataset_id}`
for page in (
    tags_router,
    datasets_router,
    documents_router,
    document_files_router,
    segments_router,
    retrieval_router,
    metadata_router,
):
    router.include_router(page)
public_router = document_files_public_router  # signed downloads, outside `/v1`

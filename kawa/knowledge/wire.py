"""Dify's JSON shapes of the Knowledge API: dataset, document, segment, child chunk, hit-testing record."""

from __future__ import annotations

from typing import Any

from kawa.knowledge.types import RetrievalConfig, RetrievedSegment
from kawa.store.datasets import DatasetCounts
from kawa.store.documents import display_status
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DatasetMetadataField, DocumentSegment
from kawa.store.tags import TAG_TYPE, KnowledgeTag

ACCOUNT = "kawa"  # kawa has no accounts; Dify's created_by/updated_by get this fixed value


def _ts(value: float | None) -> int | None:
    return None if value is None else int(value)


def dataset_view(
    d: Dataset,
    counts: DatasetCounts | None = None,
    fields: list[DatasetMetadataField] | None = None,
    tags: list[KnowledgeTag] | None = None,
) -> dict[str, Any]:
    counts = counts or DatasetCounts()
    retrieval = RetrievalConfig.model_validate(d.retrieval_model or {})
    return {
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "provider": d.provider,
        "permission": d.permission,
        "data_source_type": "upload_file" if counts.document_count else None,
        "indexing_technique": d.indexing_technique,
        "app_count": 0,
        "document_count": counts.document_count,
        "word_count": counts.word_count,
        "created_by": ACCOUNT,
        "author_name": ACCOUNT,
        "created_at": int(d.created_at),
        "updated_by": ACCOUNT,
        "updated_at": int(d.updated_at),
        "embedding_model": d.embedding_model,
        "embedding_model_provider": d.embedding_model_provider,
        "embedding_available": True,
        "retrieval_model_dict": retrieval.wire(),
        "tags": [{"id": t.id, "name": t.name, "type": TAG_TYPE} for t in tags or []],
        "doc_form": d.doc_form,
        "external_knowledge_info": {
            "external_knowledge_id": None,
            "external_knowledge_api_id": None,
            "external_knowledge_api_name": None,
            "external_knowledge_api_endpoint": None,
        },
        "external_retrieval_model": None,
        "doc_metadata": [{"id": f.id, "name": f.name, "type": f.type} for f in fields or []],
        "built_in_field_enabled": d.built_in_field_enabled,
        "pipeline_id": None,
        "runtime_mode": "general",
        "chunk_structure": None,
        "icon_info": None,
        "is_published": False,
        "total_documents": counts.document_count,
        "total_available_documents": counts.available_document_count,
        "enable_api": d.enable_api,
    }


def document_metadata_list(document: DatasetDocument, fields: list[DatasetMetadataField]) -> list[dict[str, Any]]:
    values = document.doc_metadata or {}
    return [
        {"id": f.id, "name": f.name, "type": f.type, "value": values[f.name]}
        for f in fields
        if values.get(f.name) is not None
    ]


def document_view(doc: DatasetDocument, fields: list[DatasetMetadataField] | None = None) -> dict[str, Any]:
    return {
        "id": doc.id,
        "position": doc.position,
        "data_source_type": doc.data_source_type,
        "data_source_info": doc.data_source_info,
        "data_source_detail_dict": {"upload_file": doc.data_source_info},
        "dataset_process_rule_id": None,
        "name": doc.name,
        "created_from": doc.created_from,
        "created_by": ACCOUNT,
        "created_at": int(doc.created_at),
        "tokens": doc.tokens,
        "indexing_status": doc.indexing_status,
        "error": doc.error,
        "enabled": doc.enabled,
        "disabled_at": _ts(doc.disabled_at),
        "disabled_by": ACCOUNT if doc.disabled_at else None,
        "archived": doc.archived,
        "display_status": display_status(doc),
        "word_count": doc.word_count,
        "hit_count": doc.hit_count,
        "doc_form": doc.doc_form,
        "doc_language": doc.doc_language,
        "doc_metadata": document_metadata_list(doc, fields or []),
    }


def document_detail_view(doc: DatasetDocument, fields: list[DatasetMetadataField]) -> dict[str, Any]:
    """`GET /datasets/{id}/documents/{doc}`: the document with its rule, timings and segment count."""
    return {
        **document_view(doc, fields),
        "dataset_process_rule": doc.process_rule,
        "document_process_rule": doc.process_rule,
        "updated_at": int(doc.updated_at),
        "indexing_latency": doc.indexing_latency,
        "completed_at": _ts(doc.completed_at),
        "paused_by": None,
        "paused_at": _ts(doc.paused_at),
        "stopped_at": _ts(doc.stopped_at),
        "archived_reason": None,
        "archived_by": None,
        "archived_at": None,
        "segment_count": doc.total_segments,
        "average_segment_length": doc.word_count // doc.total_segments if doc.total_segments else 0,
    }


def indexing_status_view(doc: DatasetDocument) -> dict[str, Any]:
    return {
        "id": doc.id,
        "indexing_status": doc.indexing_status,
        "processing_started_at": _ts(doc.processing_started_at),
        "parsing_completed_at": _ts(doc.parsing_completed_at),
        "cleaning_completed_at": _ts(doc.cleaning_completed_at),
        "splitting_completed_at": _ts(doc.splitting_completed_at),
        "completed_at": _ts(doc.completed_at),
        "paused_at": _ts(doc.paused_at),
        "error": doc.error,
        "stopped_at": _ts(doc.stopped_at),
        "completed_segments": doc.completed_segments,
        "total_segments": doc.total_segments,
    }


def child_chunk_view(c: ChildChunk) -> dict[str, Any]:
    return {
        "id": c.id,
        "segment_id": c.segment_id,
        "content": c.content,
        "position": c.position,
        "word_count": c.word_count,
        "type": c.type,
        "created_at": int(c.created_at),
        "updated_at": int(c.updated_at),
    }


def segment_view(s: DocumentSegment, children: list[ChildChunk] | None = None) -> dict[str, Any]:
    return {
        "id": s.id,
        "position": s.position,
        "document_id": s.document_id,
        "content": s.content,
        "sign_content": s.content,
        "answer": s.answer,
        "word_count": s.word_count,
        "tokens": s.tokens,
        "keywords": list(s.keywords or []),
        "index_node_id": s.index_node_id,
        "index_node_hash": s.index_node_hash,
        "hit_count": s.hit_count,
        "enabled": s.enabled,
        "disabled_at": _ts(s.disabled_at),
        "disabled_by": ACCOUNT if s.disabled_at else None,
        "status": s.status,
        "created_by": ACCOUNT,
        "created_at": int(s.created_at),
        "updated_at": int(s.updated_at),
        "updated_by": ACCOUNT,
        "indexing_at": _ts(s.indexing_at),
        "completed_at": _ts(s.completed_at),
        "error": s.error,
        "stopped_at": None,
        "child_chunks": [child_chunk_view(c) for c in children or []],
        "attachments": [],
    }


def hit_testing_record(hit: RetrievedSegment) -> dict[str, Any]:
    """One `records[]` entry of `/datasets/{id}/retrieve`."""
    return {
        "segment": {
            "id": hit.segment_id,
            "position": hit.segment_position,
            "document_id": hit.document_id,
            "content": hit.content,
            "sign_content": hit.content,
            "answer": hit.answer,
            "word_count": hit.word_count,
            "tokens": hit.tokens,
            "keywords": hit.keywords,
            "index_node_id": hit.index_node_id,
            "index_node_hash": hit.index_node_hash,
            "hit_count": hit.hit_count,
            "enabled": True,
            "disabled_at": None,
            "disabled_by": None,
            "status": "completed",
            "created_by": ACCOUNT,
            "created_at": None,
            "indexing_at": None,
            "completed_at": None,
            "error": None,
            "stopped_at": None,
            "document": {
                "id": hit.document_id,
                "data_source_type": hit.data_source_type,
                "name": hit.document_name,
                "doc_type": None,
                "doc_metadata": hit.doc_metadata or None,
            },
        },
        "child_chunks": [
            {"id": c.id, "content": c.content, "position": c.position, "score": round(c.score, 6)}
            for c in hit.child_chunks
        ],
        "score": round(hit.score, 6),
        "tsne_position": None,
        "files": [],
        "summary": None,
    }

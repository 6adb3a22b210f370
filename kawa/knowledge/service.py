"""`KnowledgeBase`: the one entry point to datasets — documents in, background indexing, segments, retrieval.

Built once by `open_services` (`services.knowledge`); `start()` launches the indexing workers, `close()` stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from pathlib import Path
from typing import Any

from kawa.errors import InvalidParam
from kawa.files.storage import FileStorage
from kawa.knowledge.chunking import parse_process_rule
from kawa.knowledge.errors import MissingDataset
from kawa.knowledge.graph_files import GraphFiles
from kawa.knowledge.index import IndexCache, VectorPolicy
from kawa.knowledge.indexing import Embedder, IndexingJobs, IndexingPipeline
from kawa.knowledge.metadata_filter import MetadataConditions
from kawa.knowledge.reembedding import Reembedder
from kawa.knowledge.retrieval import Retriever
from kawa.knowledge.segment_editing import SegmentEditor, ensure_editable
from kawa.knowledge.settings import KnowledgeSettings
from kawa.knowledge.types import RetrievalConfig, RetrievedSegment, own_config
from kawa.models.registry import ModelRuntime
from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.datasets import DatasetStore
from kawa.store.documents import DocumentStore
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DocumentSegment
from kawa.store.search_rows import SearchRows
from kawa.store.tags import TagStore

log = logging.getLogger("kawa.knowledge")

DOC_FORMS = ("text_model", "hierarchical_model", "qa_model")


def _cache(directory: Path | None) -> GraphFiles | None:
    return GraphFiles(directory) if directory is not None else None


def new_batch() -> str:
    """Dify's batch id: a timestamp and six random digits."""
    return time.strftime("%Y%m%d%H%M%S") + str(random.randint(100000, 999999))


def upload_source_info(upload_file: dict[str, Any] | None) -> dict[str, Any] | None:
    """Dify's `data_source_info` of an uploaded source: its description under a new `upload_file_id`."""
    return None if upload_file is None else {"upload_file_id": new_id(), "upload_file": upload_file}


class KnowledgeBase:
    def __init__(
        self,
        db: Database,
        storage: FileStorage,
        models: ModelRuntime,
        settings: KnowledgeSettings,
        *,
        redis_url: str | None = None,
        graph_cache: Path | None = None,
    ) -> None:
        """`graph_cache`: where HNSW graphs of a PostgreSQL database are kept between restarts (on SQLite they live
        beside the database file). Each host keeps its own copy, repaired to the rows on load."""
        self.settings = settings
        self.storage = storage
        self.datasets = DatasetStore(db)
        self.documents = DocumentStore(db)
        self.tags = TagStore(db)
        self.embedder = Embedder(models, batch=settings.embedding_batch)
        self.indexes = IndexCache(
            SearchRows(db), VectorPolicy(settings.ann_min_chunks, GraphFiles.beside(db.url) or _cache(graph_cache))
        )
        self.segments = SegmentEditor(self.datasets, self.documents, self.embedder)
        self.reembedder = Reembedder(self.datasets, self.documents, self.embedder)
        self._warming: asyncio.Task[None] | None = None
        self.retriever = Retriever(self.datasets, self.documents, self.indexes, self.embedder, models)
        self.jobs = IndexingJobs.build(
            IndexingPipeline(self.documents, self.datasets, storage, self.embedder), settings, redis_url
        )

    async def start(self, *, recover: bool = False) -> None:
        """Start the indexing workers. `recover` (the server, at start-up) also re-queues unfinished documents."""
        if recover:
            policy = self.indexes.policy
            log.info(
                "knowledge search: exact below %d vectors per dataset, hnswlib HNSW graphs from there (%s); "
                "pgvector is not used; keywords by in-memory BM25 (CJK as character bigrams)",
                policy.ann_min_chunks,
                f"saved in {policy.files.directory}" if policy.files is not None else "in memory, per process",
            )
            self._warming = asyncio.create_task(self._warm_indexes(), name="kawa-knowledge-warm-indexes")
        await self.jobs.start(recover=recover)

    async def _warm_indexes(self) -> None:
        """Load every dataset's search index at start-up, so saved graphs are repaired to the rows (or built) now
        rather than while the first question to a large dataset waits."""
        page = 1
        while True:
            datasets, total = await self.datasets.page(page=page, limit=100)
            for dataset in datasets:
                try:
                    await self.indexes.get(dataset)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the dataset's first search will try again and report it
                    log.exception("loading the search index of dataset %s failed", dataset.id)
            if page * 100 >= total:
                return
            page += 1

    def search_status(self) -> dict[str, Any]:
        """What `/readyz` says of knowledge search. Always ok: exact search serves where no graph is in use."""
        policy = self.indexes.policy
        return {
            "ok": True,
            "state": "hnsw",
            "vector_index": "hnswlib-hnsw",
            "exact_below_vectors": policy.ann_min_chunks,
            "graphs": "files" if policy.files is not None else "memory",
            "pgvector": False,
        }

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming
        await self.reembedder.close()
        await self.jobs.close()

    # ---- retrieval: the API the chat runner and the knowledge-retrieval node use -----------------------------------

    async def retrieve(
        self,
        dataset_ids: list[str],
        query: str,
        retrieval_config: RetrievalConfig | None = None,
        *,
        count_hits: bool = True,
    ) -> list[RetrievedSegment]:
        """The best segments for `query` across `dataset_ids`, best first, `position` numbered from 1.

        Without `retrieval_config` each dataset is searched with its own `retrieval_model`. A dataset id that does
        not exist raises `MissingDataset` (an app pointing at a deleted or never-created knowledge base).
        """
        found = await self.datasets.find(list(dict.fromkeys(dataset_ids)))
        missing = [d for d in dataset_ids if d not in found]
        if missing:
            raise MissingDataset(
                f"Dataset {missing[0]} does not exist on this server: create it or re-point the "
                "app at an existing knowledge base."
            )
        return await self.retriever.retrieve(
            [found[d] for d in dict.fromkeys(dataset_ids)], query, retrieval_config, count_hits=count_hits
        )

    async def retrieve_single(
        self, dataset_ids: list[str], query: str, conditions: MetadataConditions | None = None
    ) -> list[RetrievedSegment]:
        """Dify's "single" retrieval without a router model: the one dataset whose best hit scores highest,
        searched with its own settings."""
        best: tuple[float, Dataset] | None = None
        found = await self.datasets.find(list(dataset_ids))
        if missing := [d for d in dataset_ids if d not in found]:
            raise MissingDataset(
                f"Dataset {missing[0]} does not exist on this server: create it or re-point the "
                "app at an existing knowledge base."
            )
        for dataset_id in dict.fromkeys(dataset_ids):
            dataset = found[dataset_id]
            first = own_config(dataset.retrieval_model, conditions, top_k=1)
            top = await self.retriever.retrieve([dataset], query, first, count_hits=False)
            if top and (best is None or top[0].score > best[0]):
                best = (top[0].score, dataset)
        if best is None:
            return []
        return await self.retriever.retrieve([best[1]], query, own_config(best[1].retrieval_model, conditions))

    async def missing_datasets(self, dataset_ids: list[str]) -> list[str]:
        found = await self.datasets.find(list(dataset_ids))
        return [d for d in dataset_ids if d not in found]

    # ---- datasets -------------------------------------------------------------------------------------------------

    async def update_dataset(self, dataset_id: str, fields: dict[str, Any]) -> Dataset:
        """Change a dataset's settings. A new embedding model (or high-quality indexing of an economy dataset)
        re-embeds its chunks in the background: vectors of two models are not comparable."""
        before = await self.datasets.get(dataset_id)
        dataset = await self.datasets.update(dataset_id, fields)
        model = (dataset.embedding_model_provider, dataset.embedding_model)
        if dataset.indexing_technique == "high_quality" and (
            model != (before.embedding_model_provider, before.embedding_model) or before.indexing_technique == "economy"
        ):
            log.info("dataset %s: embedding model now %s/%s, re-embedding its chunks", dataset_id, *model)
            self.reembedder.start(dataset_id)
        return dataset

    async def create_dataset(
        self,
        *,
        name: str,
        description: str = "",
        indexing_technique: str | None = None,
        permission: str = "only_me",
        provider: str = "vendor",
        retrieval_model: dict[str, Any] | None = None,
        embedding_model: str | None = None,
        embedding_model_provider: str | None = None,
    ) -> Dataset:
        if indexing_technique == "high_quality" and not embedding_model:
            embedding_model_provider, embedding_model = self.embedder.default_model()
        config = RetrievalConfig.model_validate(retrieval_model or {})
        return await self.datasets.create(
            name=name,
            description=description,
            indexing_technique=indexing_technique,
            permission=permission,
            provider=provider,
            retrieval_model=config.model_dump(mode="json"),
            embedding_model=embedding_model,
            embedding_model_provider=embedding_model_provider,
        )

    async def delete_dataset(self, dataset_id: str) -> None:
        documents = await self.documents.all_of(dataset_id)
        await self.datasets.delete(dataset_id)
        self.indexes.forget(dataset_id)
        for document in documents:
            await self.storage.delete(document.storage_key)

    # ---- documents ------------------------------------------------------------------------------------------------

    async def add_document(
        self,
        dataset_id: str,
        *,
        name: str,
        data: bytes,
        filename: str,
        mime_type: str | None,
        data_source_info: dict[str, Any] | None = None,
        upload_file: dict[str, Any] | None = None,
        process_rule: dict[str, Any] | None = None,
        doc_form: str | None = None,
        doc_language: str | None = None,
        indexing_technique: str | None = None,
        retrieval_model: dict[str, Any] | None = None,
        embedding_model: str | None = None,
        embedding_model_provider: str | None = None,
        batch: str | None = None,
    ) -> DatasetDocument:
        """Store the source and queue it for indexing; returns at once with the document `waiting`.

        `upload_file` describes an uploaded source (Dify's `data_source_info.upload_file`); it gets a new id.
        """
        dataset = await self._prepare_dataset(
            dataset_id, doc_form, indexing_technique, retrieval_model, embedding_model, embedding_model_provider
        )
        form = dataset.doc_form or "text_model"
        rule = parse_process_rule(process_rule, form)
        ts = now()
        document_id = new_id()
        key = f"knowledge/{dataset.id}/{document_id}"
        await self._write(key, data)
        document = DatasetDocument(
            id=document_id,
            dataset_id=dataset.id,
            position=0,
            name=name,
            data_source_type="upload_file",
            data_source_info=upload_source_info(upload_file) or data_source_info or {},
            storage_key=key,
            source_filename=filename,
            mime_type=mime_type,
            batch=batch or new_batch(),
            created_from="api",
            doc_form=form,
            doc_language=doc_language or "English",
            process_rule=rule.dump(),
            indexing_status="waiting",
            error=None,
            enabled=True,
            archived=False,
            word_count=0,
            tokens=0,
            hit_count=0,
            total_segments=0,
            completed_segments=0,
            doc_metadata={},
            processing_started_at=None,
            parsing_completed_at=None,
            cleaning_completed_at=None,
            splitting_completed_at=None,
            completed_at=None,
            stopped_at=None,
            paused_at=None,
            disabled_at=None,
            indexing_latency=None,
            created_at=ts,
            updated_at=ts,
        )
        await self.documents.add(document)
        await self.jobs.submit(document.id)
        return document

    async def update_document(
        self,
        dataset_id: str,
        document_id: str,
        *,
        name: str | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        data_source_info: dict[str, Any] | None = None,
        upload_file: dict[str, Any] | None = None,
        process_rule: dict[str, Any] | None = None,
    ) -> DatasetDocument:
        """New name, content or rules; new content or rules re-index the document (a new batch)."""
        document = await self.documents.get(dataset_id, document_id)
        ensure_editable(document)
        fields: dict[str, Any] = {}
        if name:
            fields["name"] = name
        reindex = data is not None or process_rule is not None
        if data is not None:
            await self._write(document.storage_key, data)
            fields.update(
                mime_type=mime_type,
                source_filename=filename or document.source_filename,
                data_source_info=upload_source_info(upload_file) or data_source_info or document.data_source_info,
            )
        if process_rule is not None:
            fields["process_rule"] = parse_process_rule(process_rule, document.doc_form).dump()
        if reindex:
            fields.update(
                indexing_status="waiting",
                batch=new_batch(),
                error=None,
                processing_started_at=None,
                parsing_completed_at=None,
                cleaning_completed_at=None,
                splitting_completed_at=None,
                completed_at=None,
                stopped_at=None,
            )
        await self.documents.update(document.id, reindex_dataset=dataset_id if reindex else None, **fields)
        if reindex:
            await self.jobs.submit(document.id)
        return await self.documents.get(dataset_id, document_id)

    async def delete_document(self, dataset_id: str, document_id: str) -> None:
        document = await self.documents.delete(dataset_id, document_id)
        await self.storage.delete(document.storage_key)

    async def _prepare_dataset(
        self,
        dataset_id: str,
        doc_form: str | None,
        indexing_technique: str | None,
        retrieval_model: dict[str, Any] | None,
        embedding_model: str | None,
        embedding_model_provider: str | None,
    ) -> Dataset:
        dataset = await self.datasets.get(dataset_id)
        if doc_form is not None and doc_form not in DOC_FORMS:
            raise InvalidParam(f"Invalid doc_form: {doc_form}")
        if doc_form and dataset.doc_form and doc_form != dataset.doc_form:
            raise InvalidParam("doc_form is different from the dataset doc_form.")
        if indexing_technique not in (None, "high_quality", "economy"):
            raise InvalidParam("indexing_technique is invalid.")
        changes: dict[str, Any] = {}
        if dataset.doc_form is None:
            changes["doc_form"] = doc_form or "text_model"
        if dataset.indexing_technique is None:
            if indexing_technique is None:
                raise InvalidParam("indexing_technique is required.")
            changes["indexing_technique"] = indexing_technique
        technique = changes.get("indexing_technique", dataset.indexing_technique)
        if technique == "high_quality" and not dataset.embedding_model:
            if embedding_model:
                changes.update(embedding_model=embedding_model, embedding_model_provider=embedding_model_provider)
            else:
                provider, model = self.embedder.default_model()
                changes.update(embedding_model=model, embedding_model_provider=provider)
        if retrieval_model and not dataset.retrieval_model:
            changes["retrieval_model"] = RetrievalConfig.model_validate(retrieval_model).model_dump(mode="json")
        return await self.datasets.update(dataset.id, changes) if changes else dataset

    async def _write(self, key: str, data: bytes) -> None:
        writer = self.storage.writer(key)
        try:
            writer.write(data)
            await writer.commit()
        except BaseException:
            await writer.abort()
            raise

    # ---- segments written by hand (kawa.knowledge.segment_editing) -------------------------------------------------

    async def add_segments(
        self, dataset_id: str, document_id: str, items: list[dict[str, Any]]
    ) -> list[DocumentSegment]:
        return await self.segments.add_segments(dataset_id, document_id, items)

    async def update_segment(
        self, dataset_id: str, document_id: str, segment_id: str, args: dict[str, Any]
    ) -> DocumentSegment:
        return await self.segments.update_segment(dataset_id, document_id, segment_id, args)

    async def add_child_chunk(self, dataset_id: str, document_id: str, segment_id: str, content: str) -> ChildChunk:
        return await self.segments.add_child_chunk(dataset_id, document_id, segment_id, content)

    async def update_child_chunk(
        self, dataset_id: str, document_id: str, segment_id: str, child_id: str, content: str
    ) -> ChildChunk:
        return await self.segments.update_child_chunk(dataset_id, document_id, segment_id, child_id, content)

"""`KnowledgeBase`: the one entry point to datasets — documents in, background indexing, segments, retrieval.

Built once by `open_services` (`services.knowledge`); `start()` launches the indexing workers, `close()` stops them.
"""

from __future__ import annotations

import random
import time
from typing import Any

from kawa.errors import InvalidParam
from kawa.files.storage import FileStorage
from kawa.knowledge.chunking import ProcessRule, Segmentation, parse_process_rule, split_text
from kawa.knowledge.errors import DocumentIndexing, MissingDataset
from kawa.knowledge.index import IndexCache
from kawa.knowledge.indexing import Embedder, IndexingJobs, IndexingPipeline
from kawa.knowledge.metadata_filter import MetadataConditions
from kawa.knowledge.retrieval import Retriever
from kawa.knowledge.settings import KnowledgeSettings
from kawa.knowledge.types import RetrievalConfig, RetrievedSegment, own_config
from kawa.models.pricing import estimate_tokens
from kawa.models.registry import ModelRuntime
from kawa.store.chunk_rows import new_child, new_segment, text_hash
from kawa.store.clock import new_id, now
from kawa.store.database import Database
from kawa.store.datasets import DatasetStore
from kawa.store.documents import IN_PROGRESS, DocumentStore
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DocumentSegment
from kawa.store.search_rows import SearchRows

DOC_FORMS = ("text_model", "hierarchical_model", "qa_model")


def ensure_editable(document: DatasetDocument) -> None:
    """Documents being indexed cannot be edited (Dify's `document_indexing`)."""
    if document.indexing_status in IN_PROGRESS:
        raise DocumentIndexing()


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
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.datasets = DatasetStore(db)
        self.documents = DocumentStore(db)
        self.embedder = Embedder(models, batch=settings.embedding_batch)
        self.indexes = IndexCache(SearchRows(db))
        self.retriever = Retriever(self.datasets, self.documents, self.indexes, self.embedder, models)
        self.jobs = IndexingJobs.build(
            IndexingPipeline(self.documents, self.datasets, storage, self.embedder), settings, redis_url
        )

    async def start(self, *, recover: bool = False) -> None:
        """Start the indexing workers. `recover` (the server, at start-up) also re-queues unfinished documents."""
        await self.jobs.start(recover=recover)

    async def close(self) -> None:
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

    # ---- segments -------------------------------------------------------------------------------------------------

    async def add_segments(
        self, dataset_id: str, document_id: str, items: list[dict[str, Any]]
    ) -> list[DocumentSegment]:
        """Segments written by hand: embedded at once (as Dify does), searchable when this returns."""
        dataset = await self.datasets.get(dataset_id)
        document = await self.documents.get(dataset_id, document_id)
        ensure_editable(document)
        segments, children = [], []
        for item in items:
            content = str(item.get("content") or "").strip()
            if not content:
                raise InvalidParam("Content is empty")
            if document.doc_form == "qa_model" and not item.get("answer"):
                raise InvalidParam("Answer is required")
            segment = new_segment(
                document,
                0,
                content,
                answer=item.get("answer") or None,
                keywords=item.get("keywords"),
                tokens=estimate_tokens(content),
                status="completed",
            )
            segment.completed_at = now()
            segments.append(segment)
            if document.doc_form == "hierarchical_model":
                children.extend(self._auto_children(document, segment))
        await self._embed_rows(dataset, document.doc_form, segments, children)
        await self.documents.add_segments(document, segments, children)
        return segments

    async def update_segment(
        self, dataset_id: str, document_id: str, segment_id: str, args: dict[str, Any]
    ) -> DocumentSegment:
        dataset = await self.datasets.get(dataset_id)
        document = await self.documents.get(dataset_id, document_id)
        ensure_editable(document)
        segment = await self.documents.segment(document_id, segment_id)
        if "enabled" in args and args["enabled"] is not None:
            segment.enabled = bool(args["enabled"])
            segment.disabled_at = None if segment.enabled else now()
        content = args.get("content")
        changed = content is not None and (content != segment.content or args.get("answer") != segment.answer)
        children: list[ChildChunk] | None = None
        if content is not None:
            segment.content = str(content)
            segment.answer = args.get("answer") if args.get("answer") is not None else segment.answer
            segment.word_count = len(segment.content) + len(segment.answer or "")
            segment.tokens = estimate_tokens(segment.content)
        if args.get("keywords") is not None:
            segment.keywords = list(args["keywords"])
        if changed or (document.doc_form == "hierarchical_model" and args.get("regenerate_child_chunks")):
            if document.doc_form == "hierarchical_model":
                children = self._auto_children(document, segment)
            await self._embed_rows(dataset, document.doc_form, [segment] if changed else [], children or [])
            segment.index_node_hash = text_hash(segment.content + (segment.answer or ""))
        await self.documents.save_segment(segment, children)
        return segment

    async def add_child_chunk(self, dataset_id: str, document_id: str, segment_id: str, content: str) -> ChildChunk:
        dataset = await self.datasets.get(dataset_id)
        await self.documents.get(dataset_id, document_id)
        segment = await self.documents.segment(document_id, segment_id)
        child = new_child(segment, 0, content, "customized")
        await self._embed_rows(dataset, "hierarchical_model", [], [child])
        await self.documents.save_child(child, new=True)
        return child

    async def update_child_chunk(
        self, dataset_id: str, document_id: str, segment_id: str, child_id: str, content: str
    ) -> ChildChunk:
        dataset = await self.datasets.get(dataset_id)
        await self.documents.get(dataset_id, document_id)
        child = await self.documents.child(segment_id, child_id)
        child.content, child.word_count, child.type = content, len(content), "customized"
        await self._embed_rows(dataset, "hierarchical_model", [], [child])
        await self.documents.save_child(child, new=False)
        return child

    def _auto_children(self, document: DatasetDocument, segment: DocumentSegment) -> list[ChildChunk]:
        rule = ProcessRule.model_validate(document.process_rule).effective()
        sub = rule.subchunk_segmentation or Segmentation(separator="\n", max_tokens=200, chunk_overlap=0)
        return [
            new_child(segment, i, text)
            for i, text in enumerate(split_text(segment.content, sub) or [segment.content], start=1)
        ]

    async def _embed_rows(
        self, dataset: Dataset, doc_form: str, segments: list[DocumentSegment], children: list[ChildChunk]
    ) -> None:
        if dataset.indexing_technique == "economy":
            return
        if doc_form == "hierarchical_model":
            blobs, _ = await self.embedder.documents(dataset, [c.content for c in children])
            for child, blob in zip(children, blobs, strict=True):
                child.embedding = blob
            return
        blobs, _ = await self.embedder.documents(
            dataset, [s.content + ("\n" + s.answer if s.answer else "") for s in segments]
        )
        for segment, blob in zip(segments, blobs, strict=True):
            segment.embedding = blob

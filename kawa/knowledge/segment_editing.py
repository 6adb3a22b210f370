"""`SegmentEditor`: segments and child chunks written or edited by hand through the Knowledge API.

Unlike uploaded documents (split and embedded in the background by kawa.knowledge.indexing) these are embedded at
once, as Dify does, and are searchable when the call returns.
"""

from __future__ import annotations

from typing import Any

from kawa.errors import InvalidParam
from kawa.knowledge.chunking import ProcessRule, Segmentation, split_text
from kawa.knowledge.errors import DocumentIndexing
from kawa.knowledge.indexing import Embedder
from kawa.models.pricing import estimate_tokens
from kawa.store.chunk_rows import new_child, new_segment, text_hash
from kawa.store.clock import now
from kawa.store.datasets import DatasetStore
from kawa.store.documents import IN_PROGRESS, DocumentStore
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DocumentSegment


def ensure_editable(document: DatasetDocument) -> None:
    """Documents being indexed cannot be edited (Dify's `document_indexing`)."""
    if document.indexing_status in IN_PROGRESS:
        raise DocumentIndexing()


class SegmentEditor:
    def __init__(self, datasets: DatasetStore, documents: DocumentStore, embedder: Embedder) -> None:
        self.datasets = datasets
        self.documents = documents
        self.embedder = embedder

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

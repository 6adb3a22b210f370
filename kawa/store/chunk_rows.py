"""New segment and child-chunk rows, built the one way indexing and hand-written segments both need: fresh ids,
an `index_node_hash` of the searchable text, word counts and timestamps."""

from __future__ import annotations

import hashlib

from kawa.store.clock import new_id, now
from kawa.store.knowledge_tables import ChildChunk, DatasetDocument, DocumentSegment


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_segment(
    document: DatasetDocument,
    position: int,
    content: str,
    *,
    answer: str | None = None,
    keywords: list[str] | None = None,
    tokens: int = 0,
    status: str = "waiting",
) -> DocumentSegment:
    ts = now()
    return DocumentSegment(
        id=new_id(),
        dataset_id=document.dataset_id,
        document_id=document.id,
        position=position,
        content=content,
        answer=answer,
        word_count=len(content) + len(answer or ""),
        tokens=tokens,
        keywords=list(keywords or []),
        index_node_id=new_id(),
        index_node_hash=text_hash(content + (answer or "")),
        hit_count=0,
        enabled=True,
        status=status,
        error=None,
        embedding=None,
        disabled_at=None,
        indexing_at=ts,
        completed_at=None,
        created_at=ts,
        updated_at=ts,
    )


def new_child(segment: DocumentSegment, position: int, content: str, type_: str = "automatic") -> ChildChunk:
    ts = now()
    return ChildChunk(
        id=new_id(),
        dataset_id=segment.dataset_id,
        document_id=segment.document_id,
        segment_id=segment.id,
        position=position,
        content=content,
        word_count=len(content),
        type=type_,
        index_node_id=new_id(),
        index_node_hash=text_hash(content),
        embedding=None,
        created_at=ts,
        updated_at=ts,
    )

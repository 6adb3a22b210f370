"""Re-embedding a dataset whose embedding model changed: its existing segments (or child chunks) get vectors from the
new model in batches, document by document, with `completed_segments` as the progress figure.

The chunks themselves are kept (hand-edited segments, hit counts, ids): only vectors change. Until a document is
done, its old vectors stay searchable; rows of the old model's dimension fall out of vector search as soon as the new
model's rows outnumber them (kawa.knowledge.index keeps the most common dimension).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kawa.knowledge.indexing import Embedder
from kawa.store.datasets import DatasetStore
from kawa.store.documents import DocumentStore
from kawa.store.knowledge_tables import Dataset, DatasetDocument

log = logging.getLogger("kawa.knowledge")

PAGE = 500


class Reembedder:
    def __init__(self, datasets: DatasetStore, documents: DocumentStore, embedder: Embedder) -> None:
        self.datasets = datasets
        self.documents = documents
        self.embedder = embedder
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, dataset_id: str) -> None:
        """Re-embed a dataset in the background; a running re-embedding of it is replaced (the model changed again)."""
        running = self._tasks.pop(dataset_id, None)
        if running is not None:
            running.cancel()
        task = asyncio.create_task(self.run(dataset_id), name=f"kawa-reembed-{dataset_id}")
        self._tasks[dataset_id] = task
        task.add_done_callback(
            lambda t: self._tasks.pop(dataset_id, None) if self._tasks.get(dataset_id) is t else None
        )

    async def wait(self, dataset_id: str) -> None:
        """Until the dataset's re-embedding (if any) is done (tests, benchmarks)."""
        task = self._tasks.get(dataset_id)
        if task is not None:
            await asyncio.shield(task)

    async def run(self, dataset_id: str) -> None:
        dataset = await self.datasets.get(dataset_id)
        if dataset.indexing_technique == "economy":
            return
        documents = [d for d in await self.documents.all_of(dataset_id) if d.indexing_status == "completed"]
        for document in documents:
            try:
                await self._document(dataset, document)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one document's failure (a provider error) is recorded; the others go on
                log.warning("re-embedding document %s failed: %s", document.id, exc)
                await self.documents.update(
                    document.id,
                    indexing_status="error",
                    error="Re-embedding with the new embedding model failed.",
                    reindex_dataset=dataset_id,
                )
                continue
            await self.documents.update(document.id, reindex_dataset=dataset_id)  # search sees the new vectors

    async def _document(self, dataset: Dataset, document: DatasetDocument) -> None:
        done, page = 0, 1
        while True:
            segments, total = await self.documents.segments(document.id, page=page, limit=PAGE, status="completed")
            if not segments:
                return
            if document.doc_form == "hierarchical_model":
                children = await self.documents.children([s.id for s in segments])
                kids = [c for s in segments for c in children[s.id]]
                blobs, _ = await self.embedder.documents(dataset, [c.content for c in kids])
                child_vectors = {c.id: b for c, b in zip(kids, blobs, strict=True)}
                segment_vectors: dict[str, bytes | None] = {s.id: s.embedding for s in segments}
            else:
                texts = [s.content + ("\n" + s.answer if s.answer else "") for s in segments]
                blobs, _ = await self.embedder.documents(dataset, texts)
                segment_vectors = {s.id: b for s, b in zip(segments, blobs, strict=True)}
                child_vectors = {}
            done += len(segments)
            await self.documents.store_embeddings(document.id, segment_vectors, child_vectors, completed_segments=done)
            if done >= total:
                return
            page += 1

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

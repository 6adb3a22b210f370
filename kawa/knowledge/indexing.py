"""Background indexing: parse → clean → split → embed, with Dify's stage timestamps and per-document progress.

Jobs are document ids on a queue: in-process (`asyncio.Queue`, the default) or a Redis list when configured, so any
kawa process may index. A worker claims a document (`waiting` → `parsing`) before working on it, so a job that is
delivered twice runs once. A failing document ends `error` with its message; the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from kawa.errors import ProviderRateLimited, client_message
from kawa.files.extract import extract_text
from kawa.files.storage import FileStorage
from kawa.knowledge.chunking import ProcessRule, chunk_document
from kawa.knowledge.indexing_queue import IndexingQueue, InProcessQueue, RedisQueue
from kawa.knowledge.settings import KnowledgeSettings
from kawa.models.pricing import estimate_tokens
from kawa.models.registry import ModelRuntime
from kawa.store.chunk_rows import new_child, new_segment
from kawa.store.clock import now
from kawa.store.datasets import DatasetStore
from kawa.store.documents import DocumentStore
from kawa.store.knowledge_tables import ChildChunk, Dataset, DatasetDocument, DocumentSegment

log = logging.getLogger("kawa.knowledge")

RATE_LIMIT_RETRIES = 6
MAX_RATE_LIMIT_PAUSE_S = 30.0


class Embedder:
    """Embeds chunks with the dataset's embedding model (the embedded e5 by default) into float32 bytes."""

    def __init__(self, models: ModelRuntime, batch: int = 32) -> None:
        self.models = models
        self.batch = batch

    async def documents(self, dataset: Dataset, texts: list[str]) -> tuple[list[bytes], int]:
        """Vectors of `texts` in batches of `batch`. A provider's rate limit (429) pauses and retries the batch:
        as long as its Retry-After says, else 1, 2, 4... s; after `RATE_LIMIT_RETRIES` the error stands."""
        blobs: list[bytes] = []
        tokens = 0
        for i in range(0, len(texts), self.batch):
            for attempt in range(RATE_LIMIT_RETRIES + 1):
                try:
                    result = await self.models.embed(
                        texts[i : i + self.batch], kind="document", **self._model_of(dataset)
                    )
                    break
                except ProviderRateLimited as limited:
                    if attempt == RATE_LIMIT_RETRIES:
                        raise
                    pause = min(limited.retry_after_s or 2.0**attempt, MAX_RATE_LIMIT_PAUSE_S)
                    log.info("embedding provider rate-limited: retrying in %.1f s", pause)
                    await asyncio.sleep(pause)
            blobs.extend(np.asarray(v, dtype=np.float32).tobytes() for v in result.vectors)
            tokens += result.usage.prompt_tokens
        return blobs, tokens

    async def query(self, dataset: Dataset, text: str) -> list[float]:
        result = await self.models.embed([text], kind="query", **self._model_of(dataset))
        return result.vectors[0]

    @staticmethod
    def _model_of(dataset: Dataset) -> dict[str, Any]:
        provider = dataset.embedding_model_provider
        if not provider or provider == "embedded":
            return {}
        return {"provider_id": provider, "model": dataset.embedding_model}

    def default_model(self) -> tuple[str, str]:
        """(provider, model) new high-quality datasets record when the client names none."""
        spec = self.models.config.default_embedding_model
        if spec:
            provider, _, model = spec.partition("/")
            return provider, model
        return "embedded", "multilingual-e5-small"


class IndexingPipeline:
    """Indexes one document end to end. Blocking parsing runs in a thread."""

    def __init__(
        self, documents: DocumentStore, datasets: DatasetStore, storage: FileStorage, embedder: Embedder
    ) -> None:
        self.documents = documents
        self.datasets = datasets
        self.storage = storage
        self.embedder = embedder

    async def run(self, document_id: str) -> None:
        document = await self.documents.claim(document_id)
        if document is None:
            return
        started = now()
        try:
            await self._index(document)
        except asyncio.CancelledError:
            await self.documents.update(document.id, indexing_status="waiting")
            raise
        except Exception as exc:  # a failed document records why and never blocks the others
            log.warning("indexing document %s failed: %s", document.id, exc)
            message = client_message(exc, log=log, context=f"indexing document {document.id}")  # no internals
            await self.documents.update(
                document.id,
                indexing_status="error",
                error=message,
                stopped_at=now(),
                reindex_dataset=document.dataset_id,
            )
            return
        await self.documents.update(
            document.id,
            indexing_status="completed",
            completed_at=now(),
            indexing_latency=now() - started,
            error=None,
            reindex_dataset=document.dataset_id,
        )

    async def _index(self, document: DatasetDocument) -> None:
        dataset = await self.datasets.get(document.dataset_id)
        data = await self.storage.read(document.storage_key)
        text = await asyncio.to_thread(
            extract_text, data, filename=document.source_filename, mime_type=document.mime_type
        )
        await self.documents.update(document.id, indexing_status="cleaning", parsing_completed_at=now())
        rule = ProcessRule.model_validate(document.process_rule)
        await self.documents.update(document.id, indexing_status="splitting", cleaning_completed_at=now())
        chunks = await asyncio.to_thread(chunk_document, text, rule, document.doc_form)
        segments: list[DocumentSegment] = []
        children: list[ChildChunk] = []
        for position, chunk in enumerate(chunks, start=1):
            segment = new_segment(
                document, position, chunk.content, tokens=estimate_tokens(chunk.content), status="indexing"
            )
            segments.append(segment)
            children.extend(new_child(segment, i, c) for i, c in enumerate(chunk.children, start=1))
        await self.documents.replace_segments(document, segments, children)
        await self.documents.update(
            document.id,
            indexing_status="indexing",
            splitting_completed_at=now(),
            word_count=sum(s.word_count for s in segments),
        )
        tokens = await self._embed(dataset, document, segments, children)
        await self.documents.update(document.id, tokens=tokens)

    async def _embed(
        self, dataset: Dataset, document: DatasetDocument, segments: list[DocumentSegment], children: list[ChildChunk]
    ) -> int:
        """Embed in batches, recording progress after each so indexing-status shows it."""
        high_quality = dataset.indexing_technique != "economy"
        by_segment: dict[str, list[ChildChunk]] = {}
        for child in children:
            by_segment.setdefault(child.segment_id, []).append(child)
        tokens = 0
        step = self.embedder.batch
        for start in range(0, len(segments), step):
            batch = segments[start : start + step]
            seg_vectors: dict[str, bytes | None] = {s.id: None for s in batch}
            child_vectors: dict[str, bytes] = {}
            if high_quality:
                if document.doc_form == "hierarchical_model":
                    kids = [c for s in batch for c in by_segment.get(s.id, [])]
                    blobs, used = await self.embedder.documents(dataset, [c.content for c in kids])
                    child_vectors = {c.id: b for c, b in zip(kids, blobs, strict=True)}
                else:
                    blobs, used = await self.embedder.documents(
                        dataset, [s.content + ("\n" + s.answer if s.answer else "") for s in batch]
                    )
                    seg_vectors = {s.id: b for s, b in zip(batch, blobs, strict=True)}
                tokens += used
            await self.documents.store_embeddings(
                document.id, seg_vectors, child_vectors, completed_segments=start + len(batch)
            )
        return tokens


class IndexingJobs:
    """Workers that take document ids off the queue and run the pipeline. `start()` also re-queues documents a
    stopped process left unfinished (in-process queue) or still waiting (Redis queue)."""

    def __init__(self, pipeline: IndexingPipeline, queue: IndexingQueue, *, workers: int, shared: bool) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.workers = workers
        self.shared = shared
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._pending = 0

    @classmethod
    def build(cls, pipeline: IndexingPipeline, settings: KnowledgeSettings, redis_url: str | None) -> IndexingJobs:
        use_redis = settings.indexing_queue == "redis" or (settings.indexing_queue == "auto" and bool(redis_url))
        if use_redis and not redis_url:
            raise ValueError("knowledge.indexing_queue is redis but KAWA_REDIS_URL is not set")
        queue: IndexingQueue = RedisQueue(redis_url) if use_redis and redis_url else InProcessQueue()
        return cls(pipeline, queue, workers=settings.indexing_workers, shared=use_redis)

    async def start(self, *, recover: bool) -> None:
        """Start the workers. With `recover` (the server at start-up), documents a stopped process left unfinished
        are queued again (in-process queue), or those still `waiting` are re-announced (Redis queue). Processes that
        do not recover (CLI commands, scripts) take no jobs from a shared Redis queue: they would leave with them."""
        if recover:
            unfinished = await self.pipeline.documents.in_progress()
            if not self.shared:
                await self.pipeline.documents.reset_to_waiting([d.id for d in unfinished])
            for document in unfinished:
                if not self.shared or document.indexing_status == "waiting":
                    await self.submit(document.id)
        if recover or not self.shared:
            self._tasks = [asyncio.create_task(self._work(), name=f"kawa-indexing-{i}") for i in range(self.workers)]

    async def submit(self, document_id: str) -> None:
        self._pending += 1
        self._idle.clear()
        await self.queue.put(document_id)

    async def _work(self) -> None:
        while True:
            document_id = await self.queue.get()
            try:
                await self.pipeline.run(document_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("indexing worker error on document %s", document_id)
            finally:
                self._pending = max(0, self._pending - 1)
                if self._pending == 0:
                    self._idle.set()

    async def wait_idle(self) -> None:
        """Until every job submitted by this process is done (tests and benchmarks)."""
        if self._pending:
            await self._idle.wait()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # a worker that died must not fail the shutdown of everything else
                log.exception("an indexing worker had failed")
        await self.queue.close()

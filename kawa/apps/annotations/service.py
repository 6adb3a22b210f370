"""`AnnotationService`: an app's annotations as the Service API edits them, their question vectors, the
enable/disable jobs of annotation reply, and `match`, the lookup a chat turn makes before calling its model.

Questions are embedded with the model the app's setting names (a provider kawa does not have resolves as any
embedding request does: the default embedding model, else the embedded e5). Both sides are embedded as queries: an
annotation matches a query question to question, which e5 treats as a symmetric task. Similarity is the cosine; a
match needs at least the setting's `score_threshold` (1 when it is 0, as in Dify).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from kawa.errors import client_message
from kawa.models.registry import ModelRuntime
from kawa.store.annotations import ABANDONED, Annotation, AnnotationJob, AnnotationSetting, AnnotationStore

log = logging.getLogger("kawa.annotations")

Action = Literal["enable", "disable"]
EMBED_BATCH = 64


@dataclass(frozen=True, slots=True)
class AnnotationMatch:
    annotation: Annotation
    score: float


def _model_of(setting: AnnotationSetting) -> dict[str, Any]:
    return {"provider_id": setting.embedding_provider_name or None, "model": setting.embedding_model_name or None}


def _blob(vector: Sequence[float]) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class AnnotationService:
    """Owns the jobs it starts: `close` cancels those still running (they are then recorded failed)."""

    def __init__(self, store: AnnotationStore, models: ModelRuntime) -> None:
        self.store = store
        self.models = models
        self._jobs: set[asyncio.Task[None]] = set()

    # ---- editing ----------------------------------------------------------------------------------------------

    async def create(self, app_id: str, question: str, answer: str) -> Annotation:
        annotation = await self.store.add(app_id, question, answer)
        await self._index_new(app_id, [annotation])
        return annotation

    async def update(self, app_id: str, annotation_id: str, question: str, answer: str) -> Annotation | None:
        annotation = await self.store.update(app_id, annotation_id, question, answer)
        if annotation is not None:
            await self._index_new(app_id, [annotation])
        return annotation

    async def _index_new(self, app_id: str, annotations: list[Annotation]) -> None:
        """Embed new questions now when reply is on (otherwise enabling it embeds them all). A failing embedding
        model does not lose the edit: the row stays without a vector until reply is enabled again."""
        setting = await self.store.setting(app_id)
        if setting is None:
            return
        try:
            await self._embed(app_id, setting, annotations)
        except Exception:
            log.warning("could not embed annotation questions of app %s", app_id, exc_info=True)

    async def _embed(self, app_id: str, setting: AnnotationSetting, annotations: Sequence[Annotation]) -> str:
        """Embed and store the questions of `annotations`; returns the (resolved) model that made the vectors."""
        result = await self.models.embed([], kind="query", **_model_of(setting))
        model = result.model
        for i in range(0, len(annotations), EMBED_BATCH):
            batch = annotations[i : i + EMBED_BATCH]
            result = await self.models.embed([a.question for a in batch], kind="query", **_model_of(setting))
            await self.store.set_vectors(
                app_id, result.model, [(a.id, _blob(v)) for a, v in zip(batch, result.vectors, strict=True)]
            )
        return model

    # ---- annotation reply on/off (jobs) -----------------------------------------------------------------------

    async def start(
        self,
        app_id: str,
        action: Action,
        *,
        score_threshold: float,
        embedding_provider_name: str,
        embedding_model_name: str,
    ) -> tuple[AnnotationJob, str]:
        """Start enabling (with these settings) or disabling annotation reply; answers the job and Dify's status
        for the request: `waiting` for a new job, `processing` when one of this action is already under way."""
        setting = AnnotationSetting(app_id, score_threshold, embedding_provider_name, embedding_model_name)
        job, is_new = await self.store.start_job(app_id, action)
        if not is_new:
            return job, "processing"
        task = asyncio.create_task(self._run_job(job, setting), name=f"annotation-{action}-{job.id}")
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
        return job, "waiting"

    async def _run_job(self, job: AnnotationJob, setting: AnnotationSetting) -> None:
        try:
            await self.store.set_job(job.id, "processing")
            if job.action == "enable":
                await self._enable(job, setting)
            else:
                await self.store.delete_setting(job.app_id)
                await self.store.clear_vectors(job.app_id)
            await self.store.set_job(job.id, "completed")
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.set_job(job.id, "error", ABANDONED))
            raise
        except Exception as exc:
            message = client_message(exc, log=log, context=f"annotation reply job {job.id}")
            with contextlib.suppress(Exception):
                await self.store.set_job(job.id, "error", message)

    async def _enable(self, job: AnnotationJob, setting: AnnotationSetting) -> None:
        """Embed every question lacking a vector of the setting's model, then turn reply on; questions added
        meanwhile (seen without a setting, so not embedded) are embedded after."""
        model = (await self.models.embed([], kind="query", **_model_of(setting))).model
        pending = await self.store.unembedded(job.app_id, model)
        for i in range(0, len(pending), EMBED_BATCH):
            await self._embed(job.app_id, setting, pending[i : i + EMBED_BATCH])
            await self.store.set_job(job.id, "processing")  # news: the job is alive
        await self.store.put_setting(setting)
        await self._embed(job.app_id, setting, await self.store.unembedded(job.app_id, model))

    async def close(self) -> None:
        for task in list(self._jobs):
            task.cancel()
        for task in list(self._jobs):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_jobs(self) -> None:
        """Return once the jobs started so far have ended (tests, shutdown)."""
        if self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    # ---- lookup -----------------------------------------------------------------------------------------------

    async def match(self, app_id: str, query: str) -> AnnotationMatch | None:
        """The app's annotation whose question is nearest `query`, when reply is on and it is near enough. A
        failing embedding model means no match (the model answers), as in Dify."""
        if not query:
            return None
        setting = await self.store.setting(app_id)
        if setting is None:
            return None
        try:
            embedded = await self.models.embed([query], kind="query", **_model_of(setting))
            stored = await self.store.vectors(app_id, embedded.model)
            if not stored:
                return None
            matrix = np.stack([np.frombuffer(s.embedding, dtype=np.float32) for s in stored])
            target = np.asarray(embedded.vectors[0], dtype=np.float32)
            norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(target))
            scores = (matrix @ target) / np.where(norms == 0, 1.0, norms)
            best = int(np.argmax(scores))
            score = float(scores[best])
            if score < (setting.score_threshold or 1.0):
                return None
            annotation = await self.store.get(app_id, stored[best].annotation_id)
        except Exception:
            log.warning("annotation lookup failed for app %s; the model answers", app_id, exc_info=True)
            return None
        return AnnotationMatch(annotation, score) if annotation is not None else None

    async def record_hit(self, match: AnnotationMatch, *, message_id: str, end_user_id: str, query: str) -> None:
        await self.store.record_hit(
            match.annotation, message_id=message_id, end_user_id=end_user_id, query=query, score=match.score
        )

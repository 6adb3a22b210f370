"""Stopping a running task (a workflow run or a message) for the end user who started it."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from kawa.errors import NotFound
from kawa.services import Services


class StopBody(BaseModel):
    user: str = Field(min_length=1)


class OwnedTask(Protocol):
    """What a stop request reads of the task's record (a workflow run or a message)."""

    @property
    def end_user_id(self) -> str | None: ...

    @property
    def status(self) -> str: ...


class TaskRunner(Protocol):
    async def wait_stopped(self, task_id: str, *, timeout: float) -> None: ...


async def stop_owned_task(
    services: Services, app_id: str, task_id: str, user: str, record: OwnedTask | None, runner: TaskRunner
) -> dict[str, str]:
    """Stop a task (a run or a message) of this end user; answers once it has ended (or after 1 s, elsewhere)."""
    end_user = await services.end_users.find(app_id, user)
    if record is None or end_user is None or record.end_user_id != end_user.id:
        raise NotFound("Task not found.", code="task_not_found")
    if record.status == "running":
        await services.tasks.request_stop(task_id, app_id, end_user.id)
        await runner.wait_stopped(task_id, timeout=1.0)
    return {"result": "success"}

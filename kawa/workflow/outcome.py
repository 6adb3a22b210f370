"""`LevelOutcome`: how one level of a graph (the workflow, or one iteration item / loop round) ended.

The scheduler fills it; response nodes add to it through `Node.record_outcome` (end outputs, answers, loop end),
so the scheduler needs no per-node-type branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kawa.workflow.events import RunStatus


@dataclass(slots=True)
class LevelOutcome:
    status: RunStatus = "succeeded"  # succeeded | failed | stopped
    error: str | None = None
    error_type: str | None = None
    error_code: str | None = None  # Dify's code and HTTP status of the failure, when a node raised a KawaError
    error_status: int | None = None
    end_outputs: dict[str, Any] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)
    loop_ended: bool = False
    total_tokens: int = 0

"""`SystemVariables`: the `sys.*` values of one run (Dify's system variables), built by whoever starts the run.

One type for the workflow runner, the chatflow mode and `kawa run`, so every run names these values alike; the
engine receives `pool_values()`, the mapping without the `sys.` prefix that the variable pool holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SystemVariables:
    """Dify's `sys.*` variables. A field left `None` is not set in the run (a workflow has no `sys.query`)."""

    user_id: str
    app_id: str
    workflow_id: str
    workflow_run_id: str
    files: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    query: str | None = None
    conversation_id: str | None = None
    dialogue_count: int | None = None
    timestamp: int | None = None

    def pool_values(self) -> dict[str, Any]:
        """The values by name without the `sys.` prefix, in Dify's order; unset ones are left out."""
        values: dict[str, Any] = {
            "query": self.query,
            "files": list(self.files),
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "dialogue_count": self.dialogue_count,
            "app_id": self.app_id,
            "workflow_id": self.workflow_id,
            "workflow_run_id": self.workflow_run_id,
            "timestamp": self.timestamp,
        }
        return {name: value for name, value in values.items() if value is not None}

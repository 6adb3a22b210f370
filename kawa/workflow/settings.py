"""`WorkflowSettings`: the limits of one workflow run, nested into `kawa.settings.Settings` as `workflow`
(env `KAWA_WORKFLOW__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WorkflowSettings(BaseModel):
    """Limits of one workflow run."""

    max_steps: int = Field(500, ge=1, description="Most node executions in one run.")
    max_wall_time_s: float = Field(1200, gt=0, description="Longest a run may take, in seconds.")
    max_depth: int = Field(5, ge=1, description="Deepest nesting of iteration/loop containers.")
    node_payload_max_kb: int = Field(
        1000,
        ge=1,
        description="Largest node inputs, process_data or outputs streamed and stored per node, in KB; larger ones "
        "are cut and flagged `*_truncated` as Dify does (run outputs and messages keep whole values).",
    )

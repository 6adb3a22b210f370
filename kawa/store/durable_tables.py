"""Tables of durable runs: a paused run's snapshot, its Human Input forms, and the event log every run writes so a
client can re-attach to its stream from any process (times are Unix seconds)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kawa.store.tables import Base


class RunPause(Base):
    """The state a paused run resumes from (`kawa.workflow.pause.RunSnapshot` as JSON), one row per paused run."""

    __tablename__ = "workflow_run_pauses"

    workflow_run_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.String(36))
    snapshot: Mapped[dict[str, Any]]
    created_at: Mapped[float]


class HumanInputForm(Base):
    """A form a paused Human Input node execution waits on. `status`: waiting, submitted or timeout; it leaves
    `waiting` once, through a conditional UPDATE, so a form is answered (and its run resumed) exactly once."""

    __tablename__ = "human_input_forms"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    app_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    workflow_run_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    end_user_id: Mapped[str | None] = mapped_column(sa.String(36))
    node_id: Mapped[str] = mapped_column(sa.String(255))
    node_execution_id: Mapped[str] = mapped_column(sa.String(36))
    definition: Mapped[dict[str, Any]]  # node_title, form_content, inputs, user_actions, resolved_default_values
    status: Mapped[str] = mapped_column(sa.String(16))
    expiration_time: Mapped[float]
    action_id: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    submitted_at: Mapped[float | None]
    created_at: Mapped[float]

    __table_args__ = (sa.Index("ix_human_input_forms_due", "status", "expiration_time"),)


class RunEvent(Base):
    """One stream event of a run, as sent (`seq` is its SSE id, 1, 2, … per run, across pauses)."""

    __tablename__ = "workflow_run_events"

    workflow_run_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(sa.String(48))
    body: Mapped[str] = mapped_column(sa.Text)  # the event's JSON, as sent
    created_at: Mapped[float]

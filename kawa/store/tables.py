"""SQLAlchemy tables. Times are Unix seconds (float); ids are UUID strings; JSON columns hold Dify-shaped documents."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: sa.JSON, list[Any]: sa.JSON, float: sa.Double}


class App(Base):
    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    mode: Mapped[str] = mapped_column(sa.String(32))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    icon_type: Mapped[str | None] = mapped_column(sa.String(16))
    icon: Mapped[str | None] = mapped_column(sa.String(255))
    icon_background: Mapped[str | None] = mapped_column(sa.String(32))
    use_icon_as_answer_icon: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    author_name: Mapped[str] = mapped_column(sa.String(255), default="")
    enable_api: Mapped[bool] = mapped_column(default=True)
    current_version_id: Mapped[str | None] = mapped_column(sa.String(36))
    run_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[float]
    updated_at: Mapped[float]


class AppVersion(Base):
    """A published version of an app: the imported DSL document. Its id is Dify's `workflow_id`."""

    __tablename__ = "app_versions"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    dsl_version: Mapped[str] = mapped_column(sa.String(16))
    document: Mapped[dict[str, Any]]
    created_at: Mapped[float]

    __table_args__ = (sa.UniqueConstraint("app_id", "number"),)


class ApiKey(Base):
    """An API key, stored as its SHA-256 only; `hint` keeps the last 4 characters for listings."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    app_id: Mapped[str | None] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hint: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[float]
    last_used_at: Mapped[float | None]
    revoked_at: Mapped[float | None]


class EndUser(Base):
    """An app's end user: the opaque `user` string of the Service API, scoped per app."""

    __tablename__ = "end_users"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(sa.String(255))
    type: Mapped[str] = mapped_column(sa.String(32), default="service-api")
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float]

    __table_args__ = (sa.UniqueConstraint("app_id", "session_id"),)


class UploadFile(Base):
    __tablename__ = "upload_files"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    end_user_id: Mapped[str] = mapped_column(sa.String(36))
    name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    extension: Mapped[str] = mapped_column(sa.String(32))
    mime_type: Mapped[str] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(512))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[float]


class WorkflowRun(Base):
    __tablename__ = "workflow_runs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(sa.String(36))
    task_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    sequence_number: Mapped[int] = mapped_column(default=0)
    version: Mapped[str] = mapped_column(sa.String(32))
    triggered_from: Mapped[str] = mapped_column(sa.String(32), default="app-run")
    conversation_id: Mapped[str | None] = mapped_column(sa.String(36))
    status: Mapped[str] = mapped_column(sa.String(32))
    inputs: Mapped[dict[str, Any]]
    outputs: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    elapsed_time: Mapped[float] = mapped_column(default=0.0)
    total_tokens: Mapped[int] = mapped_column(default=0)
    total_steps: Mapped[int] = mapped_column(default=0)
    exceptions_count: Mapped[int] = mapped_column(default=0)
    end_user_id: Mapped[str | None] = mapped_column(sa.String(36))
    trace_id: Mapped[str | None] = mapped_column(sa.String(255))
    owner_pid: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[float | None]  # while running: the owner's lease (kawa.store.leases)
    created_at: Mapped[float]
    finished_at: Mapped[float | None]

    __table_args__ = (
        sa.Index("ix_workflow_runs_app_created", "app_id", "created_at"),
        sa.Index("ix_workflow_runs_status", "status"),
    )


class NodeExecution(Base):
    __tablename__ = "node_executions"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    workflow_run_id: Mapped[str] = mapped_column(sa.ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(sa.String(36))
    node_id: Mapped[str] = mapped_column(sa.String(255))
    node_type: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(255), default="")
    index: Mapped[int] = mapped_column(default=1)
    predecessor_node_id: Mapped[str | None] = mapped_column(sa.String(255))
    iteration_id: Mapped[str | None] = mapped_column(sa.String(255))
    loop_id: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(32))
    inputs: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    process_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    execution_metadata: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    elapsed_time: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[float]
    finished_at: Mapped[float | None]


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    end_user_id: Mapped[str] = mapped_column(sa.String(36))
    mode: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    inputs: Mapped[dict[str, Any]]
    introduction: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(32), default="normal")
    dialogue_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[float]
    updated_at: Mapped[float]

    __table_args__ = (sa.Index("ix_conversations_owner", "app_id", "end_user_id", "updated_at"),)


class ConversationVariable(Base):
    """A chatflow conversation variable's current value in one conversation (`id` is the DSL variable's id)."""

    __tablename__ = "conversation_variables"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    value_type: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[float]
    updated_at: Mapped[float]


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(sa.ForeignKey("conversations.id", ondelete="CASCADE"))
    end_user_id: Mapped[str] = mapped_column(sa.String(36))
    task_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    mode: Mapped[str] = mapped_column(sa.String(32))
    inputs: Mapped[dict[str, Any]]
    query: Mapped[str] = mapped_column(sa.Text, default="")
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(32), default="running")
    error: Mapped[str | None] = mapped_column(sa.Text)
    message_files: Mapped[list[Any]] = mapped_column(default=list)
    agent_thoughts: Mapped[list[Any]] = mapped_column(default=list)
    retriever_resources: Mapped[list[Any]] = mapped_column(default=list)
    usage: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    message_tokens: Mapped[int] = mapped_column(default=0)
    answer_tokens: Mapped[int] = mapped_column(default=0)
    latency: Mapped[float] = mapped_column(default=0.0)
    workflow_run_id: Mapped[str | None] = mapped_column(sa.String(36))
    owner_pid: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[float | None]  # while running: the owner's lease (kawa.store.leases)
    created_at: Mapped[float]
    updated_at: Mapped[float]

    __table_args__ = (
        sa.Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        sa.Index("ix_messages_status", "status"),
    )


class MessageFeedback(Base):
    __tablename__ = "message_feedbacks"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[str | None] = mapped_column(sa.String(36))
    rating: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str | None] = mapped_column(sa.Text)
    from_end_user_id: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[float]
    updated_at: Mapped[float]
